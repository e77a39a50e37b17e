package PVE::API2::Qemu::HMPPerms;

# Generated from minimal/table.yaml by hmp-perms; do not edit.
# Table sha256: 0094df7b5667b110bdf11ae3629b68ddd011b53afab85387b253d05fa00bb24b
# Change the table, then run: hmp-perms generate

use strict;
use warnings;

# The permission each HMP monitor command needs; a command not listed needs
# 'root'. Levels, least to most privileged:
#   'none'
#   'Sys.Modify'
#   'root'
our $hmp_command_perms = {
    # Writes a host file.
    'backup' => 'root',
    # Resumes the guest.
    'cont' => 'Sys.Modify', # resume emulation
    'c' => 'Sys.Modify', # resume emulation
    # Opens host files.
    'drive_add' => 'root', # add drive to PCI storage controller
    # Prints the command reference.
    'help' => 'none', # show the help
    '?' => 'none', # show the help
    # Read-only queries.
    'info' => 'none', # show various information about the system state
    # Writes a host file.
    'wavcapture' => 'root', # capture audio to a wave file (default frequency=44100 bits=16 channels=2)
};

my @deprecated = ('wavcapture');

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
