package PVE::API2::Qemu::HMPPerms;

# Generated from minimal/table.yaml by hmp-perms; do not edit.
# Table sha256: 678fa2238c0d4ebad7465fc3f0fbc2e69fd8026c20289d2b4b812cdcbfe749a6
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
    # Counterpart of drive_add.
    'drive_del' => 'root',
    # Prints the command reference.
    'help' => 'none', # show the help
    '?' => 'none', # show the help
    # Read-only queries.
    'info' => 'none',
    # Writes a host file.
    'wavcapture' => 'root',
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
