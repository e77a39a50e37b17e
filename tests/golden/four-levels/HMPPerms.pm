package PVE::API2::Qemu::HMPPerms;

# Generated from four-levels/table.yaml by hmp-perms; do not edit.
# Table sha256: 927de89e3d64a6ee9067e8295ebad0423eea9211af91a4f94c1a9c713910678b
# Change the table, then run: hmp-perms generate

use strict;
use warnings;

# The permission each HMP monitor command needs; a command not listed needs
# 'root'. Levels, least to most privileged:
#   'none'
#   'VM.Audit'
#   'VM.Monitor'
#   'Sys.Modify'
#   'root'
our $hmp_command_perms = {
    # Read-only queries.
    'info' => 'none',
    # Creates host network backends.
    'netdev_add' => 'root',
    # Reads guest registers.
    'print' => 'VM.Monitor',
    'p' => 'VM.Monitor',
    # Ends the VM.
    'quit' => 'Sys.Modify',
    'q' => 'Sys.Modify',
    # Pauses the guest.
    'stop' => 'Sys.Modify',
    's' => 'Sys.Modify',
};

my @deprecated = ();

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
