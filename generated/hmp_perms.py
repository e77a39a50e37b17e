# Generated from data/hmp-commands.yaml by hmp-perms; do not edit.
# Table sha256: 6d6c77ddf2235a8b4528dcd73df58f915909c1b03e9e590c945bec941ea61cb3
# Change the table, then run: hmp-perms generate
"""Who may run which QEMU human-monitor (HMP) command.

Standard library only: copy this file anywhere and import it.

``required_permission(line)`` gives the level a command line needs, reading
the command name exactly as QEMU's HMP parser does; anything the table does
not know gets ``DEFAULT_PERMISSION``, the most privileged level.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "DEFAULT_PERMISSION",
    "DEPRECATED",
    "DESCRIPTION",
    "INFO_DEPRECATED",
    "INFO_PERMISSIONS",
    "LEVELS",
    "PERMISSIONS",
    "TABLE_SHA256",
    "command_name",
    "generate_description",
    "required_permission",
]

TABLE_SHA256: Final = '6d6c77ddf2235a8b4528dcd73df58f915909c1b03e9e590c945bec941ea61cb3'

#: Every level, least to most privileged.
LEVELS: Final[tuple[str, ...]] = ('none', 'Sys.Modify', 'root')

#: What anything the table does not know needs: fail closed.
DEFAULT_PERMISSION: Final = 'root'

# Every command and alias -> its level; PERMISSIONS is its read-only view.
_PERMISSIONS: Final[dict[str, str]] = {
    # Sends gratuitous ARP/RARP packets from the guest's NICs; changes what the
    # network sees, not the host.
    'announce_self': 'Sys.Modify',
    # Proxmox's VMA backup writes to a file path the caller chooses on the
    # host, so it could place data anywhere the QEMU process can write.
    'backup': 'root',
    # Stops a running backup; cancelling only ends work that root started.
    'backup_cancel': 'Sys.Modify',
    # Asks the guest to give memory back or take it; changes the VM, touches no
    # host file.
    'balloon': 'Sys.Modify',
    # Controls an already running block job; cannot name new host paths.
    'block_job_cancel': 'Sys.Modify',
    # Controls an already running block job; cannot name new host paths.
    'block_job_complete': 'Sys.Modify',
    # Controls an already running block job; cannot name new host paths.
    'block_job_pause': 'Sys.Modify',
    # Controls an already running block job; cannot name new host paths.
    'block_job_resume': 'Sys.Modify',
    # Controls an already running block job; cannot name new host paths.
    'block_job_set_speed': 'Sys.Modify',
    # Grows or shrinks an existing disk image of this VM.
    'block_resize': 'Sys.Modify',
    # Changes I/O limits of an existing disk of this VM.
    'block_set_io_throttle': 'Sys.Modify',
    # Rewrites image data from a backing file chosen by name; the base is
    # expected to be in the chain already, but block-graph changes are kept for
    # root out of caution.
    'block_stream': 'root',
    # Changes the VM's boot order.
    'boot_set': 'Sys.Modify',
    # Measures how fast the guest dirties memory; costs some CPU, reaches
    # nothing outside the VM.
    'calc_dirty_rate': 'Sys.Modify',
    # Removes a dirty-page rate limit from the VM's vCPUs.
    'cancel_vcpu_dirty_limit': 'Sys.Modify',
    # Points a removable medium at a new host path, which lets the guest read
    # any file the QEMU process can open.
    'change': 'root',
    # Creates a character device backend, and backends include 'file', 'socket'
    # and 'pipe' on the host.
    'chardev-add': 'root',
    # Swaps the backend of an existing character device, e.g. sends a serial
    # port's output to a host file.
    'chardev-change': 'root',
    # Removing backends is only useful together with adding them, which is
    # root-only, so it shares that level.
    'chardev-remove': 'root',
    # Sends a break condition on an existing character device.
    'chardev-send-break': 'Sys.Modify',
    # Tells connected SPICE clients to reconnect to a host and port the caller
    # names after migration.
    'client_migrate_info': 'root',
    # Closes a file descriptor that was passed to QEMU earlier; it can only
    # take access away.
    'closefd': 'Sys.Modify',
    # Merges overlay data into the images the VM already uses.
    'commit': 'Sys.Modify',
    # Resumes a paused VM: changes its state, reaches nothing on the host.
    'cont': 'Sys.Modify',
    'c': 'Sys.Modify',
    # Selects which vCPU later monitor commands act on.
    'cpu': 'Sys.Modify',
    # Deletes an internal snapshot stored inside the VM's own images.
    'delvm': 'Sys.Modify',
    # Hot-plugs any device model with any properties, the monitor's equivalent
    # of -device; some devices open host resources.
    'device_add': 'root',
    # Unplugging is the counterpart of device_add and is kept at the same
    # level.
    'device_del': 'root',
    # Opens a host block device or file, the monitor's equivalent of -drive.
    'drive_add': 'root',
    # Copies a disk to a target file path on the host chosen by the caller.
    'drive_backup': 'root',
    # Counterpart of drive_add; removing host block backends stays with the
    # level that may add them.
    'drive_del': 'root',
    # Mirrors a disk to a target file path on the host chosen by the caller.
    'drive_mirror': 'root',
    # Writes the whole guest memory to a host file path chosen by the caller.
    'dump-guest-memory': 'root',
    # Writes the device tree blob to a host file path chosen by the caller.
    'dumpdtb': 'root',
    # Removes the medium from a removable drive of this VM; it cannot point the
    # drive anywhere new.
    'eject': 'Sys.Modify',
    # Leaves the preconfig state so the machine gets built; changes only this
    # VM.
    'exit_preconfig': 'Sys.Modify',
    # Sets when the VM's VNC or SPICE password expires.
    'expire_password': 'Sys.Modify',
    # Opens a debug server on a host device or port that gives full control
    # over guest execution and memory.
    'gdbserver': 'root',
    # Receives a file descriptor over the monitor socket; only a client that
    # already holds the descriptor can pass it.
    'getfd': 'Sys.Modify',
    # Sensitive: reveals host physical addresses, which helps exploit host
    # memory bugs. Proxmox's comment calls it root-only but the table it
    # enforces says Sys.Modify; this table keeps the enforced level.
    'gpa2hpa': 'Sys.Modify',
    # Sensitive: reveals host virtual addresses of guest memory, which weakens
    # the host's address-space randomisation. Kept at the level Proxmox
    # enforces, though its comment asks for root.
    'gpa2hva': 'Sys.Modify',
    # Translates a guest virtual address to a guest physical one; only guest
    # data.
    'gva2gpa': 'Sys.Modify',
    # Prints the built-in command reference; reads nothing from the guest or
    # host.
    'help': 'none',
    '?': 'none',
    # Opens a listening port on the host and forwards it into the guest's
    # user-mode network.
    'hostfwd_add': 'root',
    # Counterpart of hostfwd_add, kept at the same level.
    'hostfwd_remove': 'root',
    # Sensitive: reads an I/O port, which can have side effects on emulated or
    # passed-through devices. Kept at the level Proxmox enforces, though its
    # comment asks for root.
    'i': 'Sys.Modify',
    # Read-only queries of VM state; each subcommand is judged on its own in
    # the info section and inherits this level unless it says otherwise.
    'info': 'none',
    # Restores an internal snapshot from the VM's own images.
    'loadvm': 'Sys.Modify',
    # Chooses which debug items are logged; the destination file needs logfile,
    # which is root-only.
    'log': 'Sys.Modify',
    # Sends QEMU's debug log to a host file path chosen by the caller.
    'logfile': 'root',
    # Injects a machine-check exception; with KVM this reaches real CPU
    # emulation paths whose bugs could affect the host.
    'mce': 'root',
    # Saves a range of guest virtual memory to a host file path chosen by the
    # caller.
    'memsave': 'root',
    # Sends the VM state to a URI the caller chooses, including 'exec:' (runs a
    # host command) and 'file:' targets.
    'migrate': 'root',
    # Stops a running migration; it cannot start one.
    'migrate_cancel': 'Sys.Modify',
    # Lets a paused migration go on to its next stage; the target was chosen by
    # whoever started it.
    'migrate_continue': 'Sys.Modify',
    # Starts an incoming migration from a URI the caller chooses, with the same
    # 'exec:' and 'file:' reach as migrate.
    'migrate_incoming': 'root',
    # Pauses a running postcopy migration.
    'migrate_pause': 'Sys.Modify',
    # Resumes postcopy migration from a URI the caller chooses.
    'migrate_recover': 'root',
    # Toggles migration features; the destination is still set only by the
    # root-only migrate commands.
    'migrate_set_capability': 'Sys.Modify',
    # Tunes migration parameters; the destination is still set only by the
    # root-only migrate commands.
    'migrate_set_parameter': 'Sys.Modify',
    # Switches a running migration to postcopy.
    'migrate_start_postcopy': 'Sys.Modify',
    # Sends input events to the guest.
    'mouse_button': 'Sys.Modify',
    # Sends input events to the guest.
    'mouse_move': 'Sys.Modify',
    # Chooses which emulated mouse receives input.
    'mouse_set': 'Sys.Modify',
    # Exports a disk through the NBD server; only useful with nbd_server_start,
    # which is root-only.
    'nbd_server_add': 'root',
    # Part of the NBD server command group, which follows nbd_server_start's
    # level.
    'nbd_server_remove': 'root',
    # Starts an NBD server listening on a host address and port, exposing VM
    # disks on the network.
    'nbd_server_start': 'root',
    # Part of the NBD server command group, which follows nbd_server_start's
    # level.
    'nbd_server_stop': 'root',
    # Creates a host network backend (tap, socket, bridge helper and more).
    'netdev_add': 'root',
    # Counterpart of netdev_add, kept at the same level.
    'netdev_del': 'root',
    # Injects a non-maskable interrupt; like mce it exercises CPU emulation
    # paths that should stay with root.
    'nmi': 'root',
    # Writes to an I/O port of the emulated machine, which can reprogram
    # passed-through or emulated devices behind the guest's back.
    'o': 'root',
    # Creates any QOM object, including ones that open host files, sockets or
    # memory backends.
    'object_add': 'root',
    # Counterpart of object_add, kept at the same level.
    'object_del': 'root',
    # Makes TCG translate one guest instruction per block: slower emulation of
    # this VM, no host access.
    'one-insn-per-tb': 'Sys.Modify',
    # Injects PCIe errors into devices, which can reach passed-through host
    # hardware.
    'pcie_aer_inject_error': 'root',
    # Saves a range of guest physical memory to a host file path chosen by the
    # caller.
    'pmemsave': 'root',
    # Evaluates an expression over guest registers and memory; guest data only.
    'print': 'Sys.Modify',
    'p': 'Sys.Modify',
    # Runs qemu-io commands on a disk the VM already has; it cannot open new
    # host files.
    'qemu-io': 'Sys.Modify',
    # Reads a QOM property. Writing properties is root-only, but reading them
    # is too useful to forbid.
    'qom-get': 'Sys.Modify',
    # Lists QOM properties; read-only, like qom-get.
    'qom-list': 'Sys.Modify',
    # Changes any property of any QOM object, with no limit on what the
    # property controls.
    'qom-set': 'root',
    # Stops the VM's QEMU process: a disruption of this VM only.
    'quit': 'Sys.Modify',
    'q': 'Sys.Modify',
    # Sets a breakpoint in record/replay execution of this VM.
    'replay_break': 'Sys.Modify',
    # Removes a record/replay breakpoint.
    'replay_delete_break': 'Sys.Modify',
    # Moves record/replay execution of this VM to another instruction count.
    'replay_seek': 'Sys.Modify',
    # Reads from a ring-buffer character device of this VM.
    'ringbuf_read': 'Sys.Modify',
    # Writes to a ring-buffer character device of this VM.
    'ringbuf_write': 'Sys.Modify',
    # Saves an internal snapshot into the VM's own images, not to a path the
    # caller picks.
    'savevm': 'Sys.Modify',
    # Finishes Proxmox's asynchronous state save; only useful after
    # savevm-start, which is root-only.
    'savevm-end': 'root',
    # Proxmox's asynchronous state save writes to a host file path chosen by
    # the caller.
    'savevm-start': 'root',
    # Writes a screenshot to a host file path chosen by the caller.
    'screendump': 'root',
    # Sends key presses to the guest.
    'sendkey': 'Sys.Modify',
    # Sets a guest NIC's link up or down.
    'set_link': 'Sys.Modify',
    # Sets the VM's VNC or SPICE password.
    'set_password': 'Sys.Modify',
    # Limits how fast the VM's vCPUs may dirty memory.
    'set_vcpu_dirty_limit': 'Sys.Modify',
    # The old name of one-insn-per-tb (deprecated in 8.1, gone in 9.0); mirrors
    # its level.
    'singlestep': 'Sys.Modify',
    # Creates an external snapshot in a new image file at a host path chosen by
    # the caller.
    'snapshot_blkdev': 'root',
    # Takes an internal snapshot inside an existing image of this VM.
    'snapshot_blkdev_internal': 'Sys.Modify',
    # Deletes an internal snapshot inside an existing image of this VM.
    'snapshot_delete_blkdev_internal': 'Sys.Modify',
    # Pauses the VM.
    'stop': 'Sys.Modify',
    's': 'Sys.Modify',
    # Stops an audio capture; it cannot start one.
    'stopcapture': 'Sys.Modify',
    # Computes a checksum of guest memory; guest data only.
    'sum': 'Sys.Modify',
    # Switches QEMU's lock profiling on, off or resets it; costs performance of
    # this VM.
    'sync-profile': 'Sys.Modify',
    # Sends an ACPI power-button event to the guest.
    'system_powerdown': 'Sys.Modify',
    # Resets the VM.
    'system_reset': 'Sys.Modify',
    # Wakes the guest from suspend.
    'system_wakeup': 'Sys.Modify',
    # Turns trace events on or off; where their output goes is set by root-only
    # commands.
    'trace-event': 'Sys.Modify',
    # Opens, closes or redirects the simple trace backend's output file on the
    # host; mirrors logfile.
    'trace-file': 'root',
    # Can switch the watchdog to inject an NMI, which is root-only on its own.
    'watchdog_action': 'root',
    # Records audio to a WAV file at a host path chosen by the caller.
    'wavcapture': 'root',
    # Dumps guest virtual memory to the monitor; guest data only.
    'x': 'Sys.Modify',
    # Tells COLO fault tolerance that its peer is gone, forcing a failover of
    # this VM.
    'x_colo_lost_heartbeat': 'Sys.Modify',
    # Xen emulation is not used by this kind of stack; unused machinery stays
    # with root.
    'xen-event-inject': 'root',
    # Xen emulation is not used by this kind of stack; unused machinery stays
    # with root.
    'xen-event-list': 'root',
    # Dumps guest physical memory to the monitor; guest data only.
    'xp': 'Sys.Modify',
}

# Every info subcommand -> its level (inherited from ``info`` unless overridden).
_INFO_PERMISSIONS: Final[dict[str, str]] = {
    'accel': 'none',
    'accelerators': 'none',
    'backup': 'none',
    'balloon': 'none',
    'block': 'none',
    'block-jobs': 'none',
    'blockstats': 'none',
    'capture': 'none',
    'chardev': 'none',
    'cmma': 'none',
    'cpus': 'none',
    'cryptodev': 'none',
    'dirty_rate': 'none',
    'dump': 'none',
    'firmware-log': 'none',
    'history': 'none',
    'hotpluggable-cpus': 'none',
    'iothreads': 'none',
    'irq': 'none',
    'jit': 'none',
    'kvm': 'none',
    'lapic': 'none',
    'mem': 'none',
    'memdev': 'none',
    'memory-devices': 'none',
    'memory_size_summary': 'none',
    'mice': 'none',
    'migrate': 'none',
    'migrate_capabilities': 'none',
    'migrate_parameters': 'none',
    'mtree': 'none',
    'name': 'none',
    'network': 'none',
    'numa': 'none',
    'opcount': 'none',
    'pci': 'none',
    'pic': 'none',
    'profile': 'none',
    'qdm': 'none',
    'qom-tree': 'none',
    'qtree': 'none',
    'ramblock': 'none',
    'rdma': 'none',
    'registers': 'none',
    'replay': 'none',
    'rocker': 'none',
    'rocker-of-dpa-flows': 'none',
    'rocker-of-dpa-groups': 'none',
    'rocker-ports': 'none',
    'roms': 'none',
    'savevm': 'none',
    'sev': 'none',
    'sgx': 'none',
    'skeys': 'none',
    'snapshots': 'none',
    'spice': 'none',
    'stats': 'none',
    'status': 'none',
    'sync-profile': 'none',
    'tlb': 'none',
    'tpm': 'none',
    'trace-events': 'none',
    'usb': 'none',
    'usbhost': 'none',
    'usernet': 'none',
    'uuid': 'none',
    'vcpu_dirty_limit': 'none',
    'version': 'none',
    'virtio': 'none',
    'virtio-queue-element': 'none',
    'virtio-queue-status': 'none',
    'virtio-status': 'none',
    'virtio-vhost-queue-status': 'none',
    'vm-generation-id': 'none',
    'vnc': 'none',
}

#: Every command and alias -> its level.
PERMISSIONS: Final[Mapping[str, str]] = MappingProxyType(_PERMISSIONS)

#: Every info subcommand -> its level.
INFO_PERMISSIONS: Final[Mapping[str, str]] = MappingProxyType(_INFO_PERMISSIONS)

#: Deprecated commands (aliases included) -> the QEMU release that deprecated them.
DEPRECATED: Final[Mapping[str, str]] = MappingProxyType(
    {
        'stopcapture': '10.2',
        'wavcapture': '10.2',
    }
)

#: Deprecated info subcommands -> the QEMU release that deprecated them.
INFO_DEPRECATED: Final[Mapping[str, str]] = MappingProxyType(
    {
        'capture': '10.2',
    }
)

# QEMU skips and stops at C-locale isspace() only, ends a name at "/" too, and
# reads a C string, so a NUL ends the line. It reads at most 255 characters.
_NAME: Final = re.compile(r"[ \t\n\v\f\r]*([^ \t\n\v\f\r/\x00]{0,255})")


def _split(line: str) -> tuple[str, int]:
    """The name and where it ends; ValueError for a blank line."""
    match = _NAME.match(line)
    assert match is not None  # the pattern matches every string
    name, end = match.group(1), match.end()
    if not name and (end == len(line) or line[end] == "\x00"):
        raise ValueError("blank command line")
    return name, end


def command_name(line: str) -> str:
    """The command name as QEMU's HMP parser reads it: ``x/10i $pc`` is ``x``.

    Raises ValueError for a blank line. The name may be empty (``/x``), which
    no command has.
    """
    return _split(line)[0]


def required_permission(line: str) -> str:
    """The level needed to run `line`; ``DEFAULT_PERMISSION`` for anything unknown."""
    # _split inlined, as this runs on every request; a blank line finds nothing.
    match = _NAME.match(line)
    assert match is not None
    name = match.group(1)
    level = _PERMISSIONS.get(name, DEFAULT_PERMISSION)
    if name != "info":
        return level
    try:
        sub = command_name(line[match.end() :])
    except ValueError:
        return level  # plain `info` lists the subcommands
    return _INFO_PERMISSIONS.get(sub, DEFAULT_PERMISSION)


def generate_description() -> str:
    """The API description text: which commands need which level."""
    by_level: dict[str, list[str]] = {}
    for name in sorted(PERMISSIONS):
        by_level.setdefault(PERMISSIONS[name], []).append(name)
    none = by_level.pop("none")
    root = by_level.pop("root")
    text = "The following commands do not require any additional privilege: "
    text += ", ".join(none) + "\n\n"
    for level in sorted(by_level):
        text += f"The following commands require '{level}': " + ", ".join(by_level[level]) + "\n\n"
    text += "The following commands are root-only: " + ", ".join(root) + "\n"
    if DEPRECATED:
        text += "\nThe following commands are deprecated: " + ", ".join(sorted(DEPRECATED)) + "\n"
    return text


DESCRIPTION: Final = generate_description()
