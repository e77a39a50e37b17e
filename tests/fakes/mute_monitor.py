"""Run a real QEMU whose QMP monitor talks to nobody, so that hmp-perms waits while it runs.

Usage: mute_monitor.py QEMU [arguments...]. Descriptor 3 (the monitor hmp-perms
passes) is moved aside and kept open; QEMU gets a fresh socketpair end in its
place, and keeps the other end itself, unread.
"""

import os
import socket
import sys

kept = os.dup(3)  # hmp-perms's peer stays open: no end of file, no greeting
mute, unread = socket.socketpair()
os.dup2(mute.fileno(), 3)
os.set_inheritable(kept, True)
os.set_inheritable(unread.fileno(), True)
os.execvp(sys.argv[1], sys.argv[1:])
