package PVE::API2::Qemu::HMPPerms;

# Generated from data/hmp-commands.yaml by hmp-perms; do not edit.
# Table sha256: 6d6c77ddf2235a8b4528dcd73df58f915909c1b03e9e590c945bec941ea61cb3
# Change the table, then run: hmp-perms generate

use strict;
use warnings;

# The permission each HMP monitor command needs; a command not listed needs
# 'root'. Levels, least to most privileged:
#   'none'
#   'Sys.Modify'
#   'root'
our $hmp_command_perms = {
    # Sends gratuitous ARP/RARP packets from the guest's NICs; changes what the
    # network sees, not the host.
    'announce_self' => 'Sys.Modify', # Trigger GARP/RARP announcements
    # Proxmox's VMA backup writes to a file path the caller chooses on the
    # host, so it could place data anywhere the QEMU process can write.
    'backup' => 'root',
    # Stops a running backup; cancelling only ends work that root started.
    'backup_cancel' => 'Sys.Modify',
    # Asks the guest to give memory back or take it; changes the VM, touches no
    # host file.
    'balloon' => 'Sys.Modify', # request VM to change its memory allocation (in MB)
    # Controls an already running block job; cannot name new host paths.
    'block_job_cancel' => 'Sys.Modify', # stop an active background block operation (use -f if you want to abort the operation immediately instead of keep running until data is in sync)
    # Controls an already running block job; cannot name new host paths.
    'block_job_complete' => 'Sys.Modify', # stop an active background block operation
    # Controls an already running block job; cannot name new host paths.
    'block_job_pause' => 'Sys.Modify', # pause an active background block operation
    # Controls an already running block job; cannot name new host paths.
    'block_job_resume' => 'Sys.Modify', # resume a paused background block operation
    # Controls an already running block job; cannot name new host paths.
    'block_job_set_speed' => 'Sys.Modify', # set maximum speed for a background block operation
    # Grows or shrinks an existing disk image of this VM.
    'block_resize' => 'Sys.Modify', # resize a block image
    # Changes I/O limits of an existing disk of this VM.
    'block_set_io_throttle' => 'Sys.Modify', # change I/O throttle limits for a block drive
    # Rewrites image data from a backing file chosen by name; the base is
    # expected to be in the chain already, but block-graph changes are kept for
    # root out of caution.
    'block_stream' => 'root', # copy data from a backing file into a block device
    # Changes the VM's boot order.
    'boot_set' => 'Sys.Modify', # define new values for the boot device list
    # Measures how fast the guest dirties memory; costs some CPU, reaches
    # nothing outside the VM.
    'calc_dirty_rate' => 'Sys.Modify', # start a round of guest dirty rate measurement (using -r to specify dirty ring as the method of calculation and -b to specify dirty bitmap as method of calculation)
    # Removes a dirty-page rate limit from the VM's vCPUs.
    'cancel_vcpu_dirty_limit' => 'Sys.Modify', # cancel dirty page rate limit, use cpu_index to cancel limit on a specified virtual cpu
    # Points a removable medium at a new host path, which lets the guest read
    # any file the QEMU process can open.
    'change' => 'root', # change a removable medium, optional format, use -f to force the operation
    # Creates a character device backend, and backends include 'file', 'socket'
    # and 'pipe' on the host.
    'chardev-add' => 'root', # add chardev
    # Swaps the backend of an existing character device, e.g. sends a serial
    # port's output to a host file.
    'chardev-change' => 'root', # change chardev
    # Removing backends is only useful together with adding them, which is
    # root-only, so it shares that level.
    'chardev-remove' => 'root', # remove chardev
    # Sends a break condition on an existing character device.
    'chardev-send-break' => 'Sys.Modify', # send a break on chardev
    # Tells connected SPICE clients to reconnect to a host and port the caller
    # names after migration.
    'client_migrate_info' => 'root', # set migration information for remote display
    # Closes a file descriptor that was passed to QEMU earlier; it can only
    # take access away.
    'closefd' => 'Sys.Modify', # close a file descriptor previously passed via SCM rights
    # Merges overlay data into the images the VM already uses.
    'commit' => 'Sys.Modify', # commit changes to the disk images (if -snapshot is used) or backing files
    # Resumes a paused VM: changes its state, reaches nothing on the host.
    'cont' => 'Sys.Modify', # resume emulation
    'c' => 'Sys.Modify', # resume emulation
    # Selects which vCPU later monitor commands act on.
    'cpu' => 'Sys.Modify', # set the default CPU
    # Deletes an internal snapshot stored inside the VM's own images.
    'delvm' => 'Sys.Modify', # delete a VM snapshot from its tag
    # Hot-plugs any device model with any properties, the monitor's equivalent
    # of -device; some devices open host resources.
    'device_add' => 'root', # add device, like -device on the command line
    # Unplugging is the counterpart of device_add and is kept at the same
    # level.
    'device_del' => 'root', # remove device
    # Opens a host block device or file, the monitor's equivalent of -drive.
    'drive_add' => 'root', # add drive to PCI storage controller
    # Copies a disk to a target file path on the host chosen by the caller.
    'drive_backup' => 'root', # initiates a point-in-time copy for a device. The device's contents are copied to the new image file, excluding data that is written after the command is started. The -n flag requests QEMU to reuse the image found in new-image-file, instead of recreating it from scratch. The -f flag requests QEMU to copy the whole disk, so that the result does not need a backing file. The -c flag requests QEMU to compress backup data (if the target format supports it).
    # Counterpart of drive_add; removing host block backends stays with the
    # level that may add them.
    'drive_del' => 'root', # remove host block device
    # Mirrors a disk to a target file path on the host chosen by the caller.
    'drive_mirror' => 'root', # initiates live storage migration for a device. The device's contents are copied to the new image file, including data that is written after the command is started. The -n flag requests QEMU to reuse the image found in new-image-file, instead of recreating it from scratch. The -f flag requests QEMU to copy the whole disk, so that the result does not need a backing file.
    # Writes the whole guest memory to a host file path chosen by the caller.
    'dump-guest-memory' => 'root', # dump guest memory into file 'filename'. -p: do paging to get guest's memory mapping. -d: return immediately (do not wait for completion). -z: dump in kdump-compressed format, with zlib compression. -l: dump in kdump-compressed format, with lzo compression. -s: dump in kdump-compressed format, with snappy compression. -w: dump in Windows crashdump format (can be used instead of ELF-dump converting), for Windows x86 and x64 guests with vmcoreinfo driver only. begin: the starting physical address. length: the memory size, in bytes.
    # Writes the device tree blob to a host file path chosen by the caller.
    'dumpdtb' => 'root', # dump the FDT in dtb format to 'filename'
    # Removes the medium from a removable drive of this VM; it cannot point the
    # drive anywhere new.
    'eject' => 'Sys.Modify', # eject a removable medium (use -f to force it)
    # Leaves the preconfig state so the machine gets built; changes only this
    # VM.
    'exit_preconfig' => 'Sys.Modify', # exit the preconfig state
    # Sets when the VM's VNC or SPICE password expires.
    'expire_password' => 'Sys.Modify', # set spice/vnc password expire-time
    # Opens a debug server on a host device or port that gives full control
    # over guest execution and memory.
    'gdbserver' => 'root', # start gdbserver on given device (default 'tcp::1234'), stop with 'none'
    # Receives a file descriptor over the monitor socket; only a client that
    # already holds the descriptor can pass it.
    'getfd' => 'Sys.Modify', # receive a file descriptor via SCM rights and assign it a name
    # Sensitive: reveals host physical addresses, which helps exploit host
    # memory bugs. Proxmox's comment calls it root-only but the table it
    # enforces says Sys.Modify; this table keeps the enforced level.
    'gpa2hpa' => 'Sys.Modify', # print the host physical address corresponding to a guest physical address
    # Sensitive: reveals host virtual addresses of guest memory, which weakens
    # the host's address-space randomisation. Kept at the level Proxmox
    # enforces, though its comment asks for root.
    'gpa2hva' => 'Sys.Modify', # print the host virtual address corresponding to a guest physical address
    # Translates a guest virtual address to a guest physical one; only guest
    # data.
    'gva2gpa' => 'Sys.Modify', # print the guest physical address corresponding to a guest virtual address
    # Prints the built-in command reference; reads nothing from the guest or
    # host.
    'help' => 'none', # show the help
    '?' => 'none', # show the help
    # Opens a listening port on the host and forwards it into the guest's
    # user-mode network.
    'hostfwd_add' => 'root', # redirect TCP or UDP connections from host to guest (requires -net user)
    # Counterpart of hostfwd_add, kept at the same level.
    'hostfwd_remove' => 'root', # remove host-to-guest TCP or UDP redirection
    # Sensitive: reads an I/O port, which can have side effects on emulated or
    # passed-through devices. Kept at the level Proxmox enforces, though its
    # comment asks for root.
    'i' => 'Sys.Modify', # I/O port read
    # Read-only queries of VM state; each subcommand is judged on its own in
    # the info section and inherits this level unless it says otherwise.
    'info' => 'none', # show various information about the system state
    # Restores an internal snapshot from the VM's own images.
    'loadvm' => 'Sys.Modify', # restore a VM snapshot from its tag
    # Chooses which debug items are logged; the destination file needs logfile,
    # which is root-only.
    'log' => 'Sys.Modify', # activate logging of the specified items
    # Sends QEMU's debug log to a host file path chosen by the caller.
    'logfile' => 'root', # output logs to 'filename'
    # Injects a machine-check exception; with KVM this reaches real CPU
    # emulation paths whose bugs could affect the host.
    'mce' => 'root', # inject a MCE on the given CPU [and broadcast to other CPUs with -b option]
    # Saves a range of guest virtual memory to a host file path chosen by the
    # caller.
    'memsave' => 'root', # save to disk virtual memory dump starting at 'addr' of size 'size'
    # Sends the VM state to a URI the caller chooses, including 'exec:' (runs a
    # host command) and 'file:' targets.
    'migrate' => 'root', # migrate to URI (using -d to not wait for completion) -b for migration without shared storage with full copy of disk -i for migration without shared storage with incremental copy of disk (base image shared between src and destination) -r to resume a paused migration
    # Stops a running migration; it cannot start one.
    'migrate_cancel' => 'Sys.Modify', # cancel the current VM migration
    # Lets a paused migration go on to its next stage; the target was chosen by
    # whoever started it.
    'migrate_continue' => 'Sys.Modify', # Continue migration from the given paused state
    # Starts an incoming migration from a URI the caller chooses, with the same
    # 'exec:' and 'file:' reach as migrate.
    'migrate_incoming' => 'root', # Continue an incoming migration from an -incoming defer
    # Pauses a running postcopy migration.
    'migrate_pause' => 'Sys.Modify', # Pause an ongoing migration (postcopy-only)
    # Resumes postcopy migration from a URI the caller chooses.
    'migrate_recover' => 'root', # Continue a paused incoming postcopy migration
    # Toggles migration features; the destination is still set only by the
    # root-only migrate commands.
    'migrate_set_capability' => 'Sys.Modify', # Enable/Disable the usage of a capability for migration
    # Tunes migration parameters; the destination is still set only by the
    # root-only migrate commands.
    'migrate_set_parameter' => 'Sys.Modify', # Set the parameter for migration
    # Switches a running migration to postcopy.
    'migrate_start_postcopy' => 'Sys.Modify', # Followup to a migration command to switch the migration to postcopy mode. The postcopy-ram capability must be set on both source and destination before the original migration command .
    # Sends input events to the guest.
    'mouse_button' => 'Sys.Modify', # change mouse button state (1=L, 2=M, 4=R)
    # Sends input events to the guest.
    'mouse_move' => 'Sys.Modify', # send mouse move events
    # Chooses which emulated mouse receives input.
    'mouse_set' => 'Sys.Modify', # set which mouse device receives events
    # Exports a disk through the NBD server; only useful with nbd_server_start,
    # which is root-only.
    'nbd_server_add' => 'root', # export a block device via NBD
    # Part of the NBD server command group, which follows nbd_server_start's
    # level.
    'nbd_server_remove' => 'root', # remove an export previously exposed via NBD
    # Starts an NBD server listening on a host address and port, exposing VM
    # disks on the network.
    'nbd_server_start' => 'root', # serve block devices on the given host and port
    # Part of the NBD server command group, which follows nbd_server_start's
    # level.
    'nbd_server_stop' => 'root', # stop serving block devices using the NBD protocol
    # Creates a host network backend (tap, socket, bridge helper and more).
    'netdev_add' => 'root', # add host network device
    # Counterpart of netdev_add, kept at the same level.
    'netdev_del' => 'root', # remove host network device
    # Injects a non-maskable interrupt; like mce it exercises CPU emulation
    # paths that should stay with root.
    'nmi' => 'root', # inject an NMI
    # Writes to an I/O port of the emulated machine, which can reprogram
    # passed-through or emulated devices behind the guest's back.
    'o' => 'root', # I/O port write
    # Creates any QOM object, including ones that open host files, sockets or
    # memory backends.
    'object_add' => 'root', # create QOM object
    # Counterpart of object_add, kept at the same level.
    'object_del' => 'root', # destroy QOM object
    # Makes TCG translate one guest instruction per block: slower emulation of
    # this VM, no host access.
    'one-insn-per-tb' => 'Sys.Modify',
    # Injects PCIe errors into devices, which can reach passed-through host
    # hardware.
    'pcie_aer_inject_error' => 'root', # inject pcie aer error -a for advisory non fatal error -c for correctable error <id> = qdev device id <error_status> = error string or 32bit <tlp header> = 32bit x 4 <tlp header prefix> = 32bit x 4
    # Saves a range of guest physical memory to a host file path chosen by the
    # caller.
    'pmemsave' => 'root', # save to disk physical memory dump starting at 'addr' of size 'size'
    # Evaluates an expression over guest registers and memory; guest data only.
    'print' => 'Sys.Modify', # print expression value (use $reg for CPU register access)
    'p' => 'Sys.Modify', # print expression value (use $reg for CPU register access)
    # Runs qemu-io commands on a disk the VM already has; it cannot open new
    # host files.
    'qemu-io' => 'Sys.Modify', # run a qemu-io command on a block device -d: [device] is a device ID rather than a drive ID or node name
    # Reads a QOM property. Writing properties is root-only, but reading them
    # is too useful to forbid.
    'qom-get' => 'Sys.Modify', # print QOM property
    # Lists QOM properties; read-only, like qom-get.
    'qom-list' => 'Sys.Modify', # list QOM properties
    # Changes any property of any QOM object, with no limit on what the
    # property controls.
    'qom-set' => 'root', # set QOM property. -j: the value is specified in json format.
    # Stops the VM's QEMU process: a disruption of this VM only.
    'quit' => 'Sys.Modify', # quit the emulator
    'q' => 'Sys.Modify', # quit the emulator
    # Sets a breakpoint in record/replay execution of this VM.
    'replay_break' => 'Sys.Modify', # set breakpoint at the specified instruction count
    # Removes a record/replay breakpoint.
    'replay_delete_break' => 'Sys.Modify', # remove replay breakpoint
    # Moves record/replay execution of this VM to another instruction count.
    'replay_seek' => 'Sys.Modify', # replay execution to the specified instruction count
    # Reads from a ring-buffer character device of this VM.
    'ringbuf_read' => 'Sys.Modify', # Read from a ring buffer character device
    # Writes to a ring-buffer character device of this VM.
    'ringbuf_write' => 'Sys.Modify', # Write to a ring buffer character device
    # Saves an internal snapshot into the VM's own images, not to a path the
    # caller picks.
    'savevm' => 'Sys.Modify', # save a VM snapshot. If no tag is provided, a new snapshot is created
    # Finishes Proxmox's asynchronous state save; only useful after
    # savevm-start, which is root-only.
    'savevm-end' => 'root',
    # Proxmox's asynchronous state save writes to a host file path chosen by
    # the caller.
    'savevm-start' => 'root',
    # Writes a screenshot to a host file path chosen by the caller.
    'screendump' => 'root', # save screen from head 'head' of display device 'device'in specified format 'format' as image 'filename'.Currently only 'png' and 'ppm' formats are supported.
    # Sends key presses to the guest.
    'sendkey' => 'Sys.Modify', # send keys to the VM (e.g. 'sendkey ctrl-alt-f1', default hold time=100 ms)
    # Sets a guest NIC's link up or down.
    'set_link' => 'Sys.Modify', # change the link status of a network adapter
    # Sets the VM's VNC or SPICE password.
    'set_password' => 'Sys.Modify', # set spice/vnc password
    # Limits how fast the VM's vCPUs may dirty memory.
    'set_vcpu_dirty_limit' => 'Sys.Modify', # set dirty page rate limit, use cpu_index to set limit on a specified virtual cpu
    # The old name of one-insn-per-tb (deprecated in 8.1, gone in 9.0); mirrors
    # its level.
    'singlestep' => 'Sys.Modify', # run emulation in singlestep mode or switch to normal mode
    # Creates an external snapshot in a new image file at a host path chosen by
    # the caller.
    'snapshot_blkdev' => 'root', # initiates a live snapshot of device. If a new image file is specified, the new image file will become the new root image. If format is specified, the snapshot file will be created in that format. The default format is qcow2. The -n flag requests QEMU to reuse the image found in new-image-file, instead of recreating it from scratch.
    # Takes an internal snapshot inside an existing image of this VM.
    'snapshot_blkdev_internal' => 'Sys.Modify', # take an internal snapshot of device. The format of the image used by device must support it, such as qcow2.
    # Deletes an internal snapshot inside an existing image of this VM.
    'snapshot_delete_blkdev_internal' => 'Sys.Modify', # delete an internal snapshot of device. If id is specified, qemu will try delete the snapshot matching both id and name. The format of the image used by device must support it, such as qcow2.
    # Pauses the VM.
    'stop' => 'Sys.Modify', # stop emulation
    's' => 'Sys.Modify', # stop emulation
    # Stops an audio capture; it cannot start one.
    'stopcapture' => 'Sys.Modify', # stop capture
    # Computes a checksum of guest memory; guest data only.
    'sum' => 'Sys.Modify', # compute the checksum of a memory region
    # Switches QEMU's lock profiling on, off or resets it; costs performance of
    # this VM.
    'sync-profile' => 'Sys.Modify', # enable, disable or reset synchronization profiling. With no arguments, prints whether profiling is on or off.
    # Sends an ACPI power-button event to the guest.
    'system_powerdown' => 'Sys.Modify', # send system power down event
    # Resets the VM.
    'system_reset' => 'Sys.Modify', # reset the system
    # Wakes the guest from suspend.
    'system_wakeup' => 'Sys.Modify', # wakeup guest from suspend
    # Turns trace events on or off; where their output goes is set by root-only
    # commands.
    'trace-event' => 'Sys.Modify', # changes status of a specific trace event (vcpu: vCPU to set, default is all)
    # Opens, closes or redirects the simple trace backend's output file on the
    # host; mirrors logfile.
    'trace-file' => 'root',
    # Can switch the watchdog to inject an NMI, which is root-only on its own.
    'watchdog_action' => 'root', # change watchdog action
    # Records audio to a WAV file at a host path chosen by the caller.
    'wavcapture' => 'root', # capture audio to a wave file (default frequency=44100 bits=16 channels=2)
    # Dumps guest virtual memory to the monitor; guest data only.
    'x' => 'Sys.Modify', # virtual memory dump starting at 'addr'
    # Tells COLO fault tolerance that its peer is gone, forcing a failover of
    # this VM.
    'x_colo_lost_heartbeat' => 'Sys.Modify', # Tell COLO that heartbeat is lost, a failover or takeover is needed.
    # Xen emulation is not used by this kind of stack; unused machinery stays
    # with root.
    'xen-event-inject' => 'root',
    # Xen emulation is not used by this kind of stack; unused machinery stays
    # with root.
    'xen-event-list' => 'root',
    # Dumps guest physical memory to the monitor; guest data only.
    'xp' => 'Sys.Modify', # physical memory dump starting at 'addr'
};

my @deprecated = ('stopcapture', 'wavcapture');

sub generate_description {
    my %by_perm;
    for my $cmd (sort keys %$hmp_command_perms) {
        push @{ $by_perm{ $hmp_command_perms->{$cmd} } }, $cmd;
    }
    my $none = delete $by_perm{none}
        or die "internal error - no command without a required permission\n";
    my $root = delete $by_perm{root}
        or die "internal error - no root-only command\n";

    my $text = "The following commands do not require any additional privilege: "
        . join(', ', @$none) . "\n\n";
    for my $perm (sort keys %by_perm) {
        $text .= "The following commands require '$perm': "
            . join(', ', @{ $by_perm{$perm} }) . "\n\n";
    }
    $text .= "The following commands are root-only: " . join(', ', @$root) . "\n";
    $text .= "\nThe following commands are deprecated: " . join(', ', @deprecated) . "\n"
        if @deprecated;
    return $text;
}

1;
