"""The second half of the Perl script `ppi.read_hash` runs: the hash and its uses.

It finds the one definition, proves that nothing before it runs and that
every other use of the variable only reads it, and prints its entries as JSON.
It runs after `ppi_document`, whose helpers and indexes it uses.
"""

PERL = r"""
my @definitions;
for my $stmt (@{ $doc->find('PPI::Statement::Variable') || [] }) {
    next unless grep { $_ eq $VAR } $stmt->variables;
    next if is_bare_declaration($stmt);
    push @definitions, $stmt;
}
refuse(1, "no 'our $VAR = {' permission hash found") unless @definitions;
my $first = $definitions[0];
if (@definitions > 1) {
    refuse($definitions[1], "$VAR is defined again (first on line " . $first->line_number . ')');
}
my $definition = $first;

# Under strict, the variable exists from its first `our` at file scope on; a use
# before that (a sub above it, say) does not compile, so Perl holds no hash at all.
my ($declared) = grep {
    $_->parent->isa('PPI::Document') && $_->type eq 'our' && grep { $_ eq $VAR } $_->variables
} @{ $doc->find('PPI::Statement::Variable') || [] };
$declared ||= $definition;

sub before {
    my ($x, $y) = map { $_->location } @_;
    return $x->[0] < $y->[0] || ($x->[0] == $y->[0] && $x->[1] < $y->[1]);
}
for my $tok (@interpolated, grep { $_->content eq $VAR } @{ $doc->find('PPI::Token::Symbol') || [] }) {
    refuse($tok, "$VAR is used before it is declared: under strict Perl refuses to compile this")
        if before($tok, $declared);
}
refuse($definition, "$VAR is declared with '" . $definition->type . "': only 'our $VAR = { ... };' is read")
    unless $definition->type eq 'our';
refuse($definition, "$VAR is defined inside a block or sub: Perl may never run it")
    unless $definition->parent->isa('PPI::Document');
my @parts = $definition->schildren;
my $hash = $parts[3];
refuse($definition, "cannot read this definition: only 'our $VAR = { ... };' is read, one variable, one hash literal, nothing after it")
    unless @parts == 5
    && $parts[0]->content eq 'our'
    && $parts[1]->isa('PPI::Token::Symbol') && $parts[1]->content eq $VAR
    && $parts[2]->isa('PPI::Token::Operator') && $parts[2]->content eq '='
    && $hash->isa('PPI::Structure::Constructor') && $hash->start->content eq '{'
    && $parts[4]->isa('PPI::Token::Structure') && $parts[4]->content eq ';';

sub is_bare_declaration {    # our $hmp_command_perms;  (changes nothing)
    my ($stmt) = @_;
    my @s = $stmt->schildren;
    return @s == 3 && $s[0]->content eq 'our' && $s[1]->content eq $VAR && $s[2]->content eq ';';
}

# Before the hash is defined, file-scope code runs first: it may end the module
# early or change what follows. Only declarations may stand there. A variable
# read in a string warns when undefined, which FATAL warnings make a die.
my $fatal = grep { ($_->module // '') eq 'warnings' && $_->content =~ /FATAL/ }
    @{ $doc->find('PPI::Statement::Include') || [] };
for my $stmt ($doc->schildren) {
    last if $stmt == $definition;
    next if $stmt->isa('PPI::Statement::Package')
        || $stmt->isa('PPI::Statement::Include')
        || $stmt->isa('PPI::Statement::Sub')
        || $stmt->isa('PPI::Statement::Null')
        || $stmt->isa('PPI::Statement::Scheduled');
    if ($stmt->isa('PPI::Statement::Variable') && ($stmt->type eq 'my' || $stmt->type eq 'our')) {
        my @words = grep {
            my $next = $next_of{ refaddr $_ };
            !($next && $next->isa('PPI::Token::Operator') && $next->content eq '=>')
        } grep { $_->isa('PPI::Token::Word') } $stmt->tokens;
        # literals only: no operator but = , =>, as others can die (1 / 0,
        # 'a' x 1e12), and under FATAL warnings no string that reads a variable
        my @odd = grep {
            ($_->isa('PPI::Token::Operator') && $_->content !~ /^(?:=|,|=>)$/)
            || $_->isa('PPI::Token::Cast')
            || ($fatal && ref($_) =~ $INTERPOLATING && interpolates($_->content))
            || ($fatal && $_->isa('PPI::Token::HereDoc') && ($_->{_mode} // '') ne 'literal'
                && interpolates(join '', $_->heredoc))
        } $stmt->tokens;
        next if @words == 1 && $words[0] == $stmt->schild(0) && !@odd;
    }
    refuse($stmt, 'code before the hash runs first and may end the module or change what follows: only package, use, sub and variables holding literals may stand before it');
}
# Without strict refs a name built at run time reaches the variable:
# ${"hmp_command" . "_perms"}. Such dereferences (of a scalar or a glob) are
# refused where no file-scope 'use strict' is in force.
my $strict;
for my $include (@{ $doc->find('PPI::Statement::Include') || [] }) {
    next unless $include->parent->isa('PPI::Document');
    next unless ($include->type // '') eq 'use' && ($include->module // '') eq 'strict';
    my @args = map { $_->content } $include->arguments;
    next unless !@args || grep { /\brefs\b/ } @args;
    $strict = $include;
    last;
}
for my $cast (@{ $doc->find('PPI::Token::Cast') || [] }) {
    next unless $cast->content =~ /^(?:\$|\*|\$\*|\*\*)$/;
    next if $strict && before($strict, $cast);
    refuse($cast, "a dereference by name where 'use strict' is not in force: a name built at run time can reach $VAR");
}

# -- every other use of the variable must be a read ---------------------------------

# !~ with s/// or tr/// changes its operand as =~ does.
my $ASSIGN = qr/^(?:(?:\*\*|\/\/|\|\||&&|<<|>>|[-+*\/.%x|&^])?=|[=!]~|\+\+|--)$/;

sub changed {
    refuse($_[0], "$VAR is changed outside its definition; cannot import it safely");
}

sub unproven {
    refuse($_[0], "$VAR is used here in a way the importer cannot prove leaves it unchanged"
        . " (reads such as $VAR" . '->{$name} and keys ' . $VAR . '->%* are accepted)');
}

sub is_op { my ($el, @ops) = @_; return $el && $el->isa('PPI::Token::Operator') && grep { $el->content eq $_ } @ops }
sub is_word { my ($el, @words) = @_; return $el && $el->isa('PPI::Token::Word') && grep { $el->content eq $_ } @words }

sub keys_operand {    # `keys OPERAND` or `keys(OPERAND)`, OPERAND starting at $first
    my ($first) = @_;
    my $prev = $first->sprevious_sibling;
    return is_word($prev, 'keys') if $prev;
    my $list = $first->parent && $first->parent->parent;
    return $list && $list->isa('PPI::Structure::List') && !$first->parent->sprevious_sibling
        && is_word($list->sprevious_sibling, 'keys');
}

sub after_is_read {    # what follows an access must not assign to it
    my ($tok, $after) = @_;
    return 1 unless $after;
    changed($tok) if $after->isa('PPI::Token::Operator') && $after->content =~ $ASSIGN;
    return 1;
}

for my $tok (@{ $doc->find('PPI::Token::Symbol') || [] }) {
    next unless $tok->content eq $VAR;
    my $stmt = $tok->statement;
    next if $stmt == $definition && $tok == $parts[1];
    if ($stmt->isa('PPI::Statement::Variable') && grep { $_ eq $VAR } $stmt->variables) {
        next if is_bare_declaration($stmt) && $stmt->parent->isa('PPI::Document');
        refuse($stmt, "$VAR is declared again here");
    }
    my $prev = $tok->sprevious_sibling;
    my $next = $tok->snext_sibling;
    changed($tok) if is_word($prev, qw(delete local undef tie untie bless));
    changed($tok) if $next && $next->isa('PPI::Token::Operator') && $next->content =~ $ASSIGN;
    if ($prev && $prev->isa('PPI::Token::Cast')) {
        changed($tok) if $prev->content eq '\\';
        # keys %$hmp_command_perms
        if ($prev->content eq '%' && keys_operand($prev)) {
            after_is_read($tok, $next);
            next;
        }
        unproven($tok);
    }
    if (!$prev && !$next) {    # keys %{$hmp_command_perms}
        my $block = $tok->parent && $tok->parent->parent;
        if ($block && $block->isa('PPI::Structure::Block') && $tok->parent->schildren == 1) {
            my $cast = $block->sprevious_sibling;
            if ($cast && $cast->isa('PPI::Token::Cast') && $cast->content eq '%' && keys_operand($cast)) {
                after_is_read($tok, $block->snext_sibling);
                next;
            }
        }
    }
    unproven($tok) unless is_op($next, '->');
    my $target = $next->snext_sibling;
    unproven($tok) unless $target;
    # keys $hmp_command_perms->%*
    if ($target->isa('PPI::Token::Cast') && $target->content eq '%*') {
        unproven($tok) unless keys_operand($tok);
        after_is_read($tok, $target->snext_sibling);
        next;
    }
    unproven($tok) unless $target->isa('PPI::Structure::Subscript') && $target->start->content eq '{';
    my $after = $target->snext_sibling;
    unproven($tok) if $after && (is_op($after, '->') || $after->isa('PPI::Structure::Subscript'));
    after_is_read($tok, $after);
    # $hmp_command_perms->{KEY}, read as a whole subscript, a my variable's value,
    # or under exists/defined: nothing there can alias it.
    my $parent = $tok->parent;
    my $whole = !$prev && !$after;
    next if $whole && $parent->parent && $parent->parent->isa('PPI::Structure::Subscript');
    if ($parent->isa('PPI::Statement::Variable') && $parent->type eq 'my') {
        my @s = $parent->schildren;
        # my $level = $hmp_command_perms->{$name};  (or `// DEFAULT;`: a copy either way)
        next if @s >= 7 && $s[1]->isa('PPI::Token::Symbol') && $s[1]->content =~ /^\$/
            && $s[2] == $prev && is_op($prev, '=') && $s[3] == $tok && $s[6] == $after
            && (@s == 7 ? $after->content eq ';' : is_op($after, '//') && $s[-1]->content eq ';');
    }
    next if is_word($prev, qw(exists defined));
    if ($whole && $parent->parent && $parent->parent->isa('PPI::Structure::List')) {
        next if is_word($parent->parent->sprevious_sibling, qw(exists defined));
    }
    unproven($tok);
}

# -- the hash literal --------------------------------------------------------------

my %full_line;    # line => text of a comment alone on its line
for my $comment (@{ $hash->find('PPI::Token::Comment') || [] }) {
    next unless $comment->line;
    (my $text = $comment->content) =~ s/^\s*#[ \t]?//;
    $text =~ s/\s+\z//;
    $full_line{ $comment->line_number } = $text;
}

# The entries as one stream of elements, comments and whitespace included.
my (@stream, $lists);
for my $child ($hash->children) {
    if ($child->isa('PPI::Statement')) {
        refuse($child, 'cannot read this line of the permission hash: ' . shown($child->content))
            unless $child->isa('PPI::Statement::Expression') || ref $child eq 'PPI::Statement';
        refuse($child, 'cannot read the permission hash: it holds more than one list of entries')
            if $lists++;
        push @stream, $child->children;
    }
    else {
        push @stream, $child;
    }
}
my @at = grep { $stream[$_]->significant } 0 .. $#stream;    # where the significant ones are

my $LINE = 'cannot read this line of the permission hash: ';

sub string_of {
    my ($tok, $what) = @_;
    my $class = ref $tok;
    if ($class =~ /^PPI::Token::Quote::(?:Single|Literal|Double|Interpolate)$/) {
        my $text = $tok->string;
        refuse($tok, "$LINE$what " . shown($tok->content) . ' holds a backslash: the importer does not decode escapes')
            if $text =~ /\\/;
        refuse($tok, "$LINE$what " . shown($tok->content) . ' interpolates a variable')
            if $class =~ /Double|Interpolate/ && $text =~ /[\$\@]/;
        return $text;
    }
    refuse($tok, "$LINE$what " . shown($tok->content) . ' is not a plain string literal');
}

sub trailing_comment {    # the comment after the element at $stream[$i], on its line
    my ($i) = @_;
    my $line = $stream[$i]->line_number;
    $i++;
    $i++ while $i < @stream && $stream[$i]->isa('PPI::Token::Whitespace') && $stream[$i]->content !~ /\n/;
    my $tok = $stream[$i];
    return '' unless $tok && $tok->isa('PPI::Token::Comment') && !$tok->line && $tok->line_number == $line;
    (my $text = $tok->content) =~ s/^#[ \t]?//;
    $text =~ s/\s+\z//;
    return $text;
}

my @entries;
for (my $n = 0; $n < @at; $n += 4) {
    my ($key, $arrow, $value, $comma) = map { defined $_ ? $stream[$_] : undef } @at[ $n .. $n + 3 ];
    my $name = $key->isa('PPI::Token::Word') ? $key->content : string_of($key, 'the key');
    refuse($arrow || $key, 'cannot read this line of the permission hash: ' . shown($key->content . ' ' . ($arrow ? $arrow->content : '')) . " (entries are KEY => 'level',)")
        unless is_op($arrow, '=>') && $value;
    my $level = string_of($value, 'the level');
    refuse($comma, 'cannot read this line of the permission hash: ' . shown($comma->content) . " (entries are KEY => 'level',)")
        if $comma && !is_op($comma, ',');
    my @comments;
    for (my $line = $key->line_number - 1; exists $full_line{$line}; $line--) {
        unshift @comments, $full_line{$line};
    }
    push @entries, {
        key      => $name,
        level    => $level,
        line     => $key->line_number + 0,
        comments => \@comments,
        help     => trailing_comment($comma ? $at[ $n + 3 ] : $at[ $n + 2 ]),
    };
}

answer({ line => $definition->line_number + 0, entries => \@entries });
"""
