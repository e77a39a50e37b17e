"""The first half of the Perl script `ppi.read_hash` runs: the module as a whole.

It loads PPI (or answers that it is missing), reads the module from stdin, and
refuses what PPI cannot parse or what Perl would read otherwise, code that PPI
cannot see, and modules beyond strict, warnings and utf8. `ppi_hash` goes on
from there, with the helpers and the indexes defined here.
"""

PERL = r"""
# Reads a Perl module on stdin with PPI, never running it, and prints as JSON
# the one hash `our $hmp_command_perms = { ... };` defines:
#   {"line": N, "entries": [{"key", "level", "line", "comments", "help"}]}
# or what it cannot prove, as {"error": {"line": N, "message": "..."}},
# or {"missing": "PPI"} when PPI (Debian: libppi-perl) is not installed.
use strict;
use warnings;

my $NAME = 'hmp_command_perms';
my $VAR  = '$' . $NAME;

BEGIN {
    my %have;
    for my $module (qw(JSON::PP PPI)) {
        (my $file = "$module.pm") =~ s{::}{/}g;
        $have{$module} = eval { require $file; 1 };
    }
    if (!$have{PPI} || !$have{'JSON::PP'}) {
        binmode STDOUT;
        print '{"missing":"' . ($have{PPI} ? 'JSON::PP' : 'PPI') . '"}';
        exit 0;
    }
}

binmode STDIN;
binmode STDOUT;
my $JSON = JSON::PP->new->canonical;    # characters are bytes here, and stay so

sub answer {
    print $JSON->encode($_[0]);
    exit 0;
}

sub refuse {
    my ($where, $message) = @_;
    my $line = ref $where ? ($where->line_number // 1) : $where;
    answer({ error => { line => $line + 0, message => $message } });
}

sub shown {    # a token as a message shows it: one line, short
    my ($text) = @_;
    $text =~ s/\s+/ /g;
    $text = substr($text, 0, 57) . '...' if length $text > 60;
    return "'$text'";
}

my $source = do { local $/; <STDIN> };
$source = '' unless defined $source;

# PPI reads a lone CR as a line end; Perl does not (a comment goes on past it).
if ($source =~ /\r(?!\n)/g) {
    my $before = substr($source, 0, pos($source));
    refuse(1 + ($before =~ tr/\n//),
        'a carriage return that ends no line: Perl and PPI read the rest of this line differently');
}

my $doc = PPI::Document->new(\$source);
if (!$doc) {
    my $why = PPI::Document->errstr || 'no reason given';
    $why =~ s/\s+/ /g;
    # PPI does not say where; its usual cause is a control character in code.
    my $line = 1;
    $line += (substr($source, 0, $-[0]) =~ tr/\n//) if $source =~ /[^\t\n\f\r\x20-\x7e\x80-\xff]/;
    refuse($line, "PPI cannot parse this module ($why)");
}
$doc->index_locations;

for my $class (qw(PPI::Token::Unknown PPI::Statement::UnmatchedBrace PPI::Statement::Unknown)) {
    my $odd = $doc->find_first($class);
    refuse($odd, 'PPI cannot tell what this is: ' . shown($odd->content)) if $odd;
}
# PPI's own complete() calls a module with __DATA__ incomplete: the same test
# without that slip. A here-document without its terminator is marked damaged.
my $open = $doc->find_first(sub { $_[1]->isa('PPI::Structure') && !$_[1]->complete });
refuse($open, 'PPI reads this module as incomplete: the bracket opened here is not closed') if $open;
my $damaged = $doc->find_first(sub { $_[1]->isa('PPI::Token::HereDoc') && $_[1]->{_damaged} });
refuse($damaged, 'PPI reads this module as incomplete: this here-document has no terminator') if $damaged;
my ($last) = grep { $_->isa('PPI::Statement') && !$_->isa('PPI::Statement::End') && !$_->isa('PPI::Statement::Data') }
    reverse $doc->children;
refuse($last || 1, "PPI reads this module as incomplete: an unclosed string, or a last statement without ';'")
    unless $last && $last->_complete;

# -- what Perl would read differently, or code PPI cannot see -------------------

my $INTERPOLATING = qr/^PPI::Token::(?:Quote::(?:Double|Interpolate)|QuoteLike::(?:Backtick|Command|Regexp|Readline)|Regexp::(?:Match|Substitute))$/;
my $LITERAL = qr/^PPI::Token::(?:Quote::(?:Single|Literal)|QuoteLike::Words|Regexp::Transliterate)$/;
my %PRAGMA = map { $_ => 1 } qw(strict warnings utf8);

# An interpolating string may read the scalar as text, nothing more: an
# expression inside it (a subscript, ${...}, @{[...]}) is code PPI does not parse.
my @interpolated;    # strings that interpolate the scalar: after its declaration, or strict refuses

# Code inside a string or pattern, which PPI keeps as text: an expression in
# ${...} or @{...}, a subscript that is more than a name, a number or a scalar
# ("$h{ eval ... }"), a postfix slice, and in a pattern a (?{...}) block.
sub interpolated_code {
    my ($text, $pattern) = @_;
    (my $t = $text) =~ s/\\./  /gs;    # an escaped character is text
    return 'a (?{ }) code block' if $pattern && $t =~ /\(\*?\??\{/;
    while ($t =~ /[\$\@]/g) {
        $t =~ /\G[\$#]*/gc;
        if ($t =~ /\G\{/gc) {
            return 'an expression in ${...} or @{...}' unless $t =~ /\G\s*\^?\w+\s*\}/gc;
        }
        elsif ($t !~ /\G(?:\^\w|::|\w|'(?=\w))+/gc) {
            next;    # punctuation, or a pattern's $ anchor
        }
        while (1) {
            if ($t =~ /\G(?:->)?([\[\{])/gc) {
                my $close = $1 eq '[' ? ']' : '}';
                return 'an expression in a subscript'
                    unless $t =~ /\G\s*(?:-?\w+|\$\w+)\s*\Q$close\E/gc;
            }
            elsif ($t =~ /\G->[\$\@%&*]/gc) {
                return 'a postfix slice with an expression' if $t =~ /\G[\[\{]/;
            }
            else {
                last;
            }
        }
    }
    return;
}

sub interpolates {    # an unescaped sigil: a variable read, perhaps a warning
    (my $t = $_[0]) =~ s/\\./  /gs;
    return $t =~ /[\$\@]/;
}

sub check_interpolated {
    my ($tok, $text) = @_;
    refuse($tok, "a string that interpolates an expression and names $VAR: PPI does not read it as code")
        if $text =~ /[\$\@]\{/;
    my $reads = 0;
    while ($text =~ /(\\*)\$$NAME(?=(.?.?))/g) {
        next if length($1) % 2;    # \$hmp_command_perms is text, not the variable
        $reads++;
        refuse($tok, "a string that interpolates $VAR with a subscript: PPI does not read it as code")
            if $2 =~ /^(?:[\[\{:'\w]|->)/;
    }
    push @interpolated, $tok if $reads;
}

# PPI's sibling and next_token methods search the parent's list each time, so a
# hash of many entries would take quadratic time: neighbours are indexed once.
use Scalar::Util qw(refaddr);
my @all = $doc->tokens;
my @significant = grep { $_->significant } @all;
my (%next_of, %prev_of);
for my $i (0 .. $#significant) {
    $next_of{ refaddr $significant[$i] } = $significant[ $i + 1 ] if $i < $#significant;
    $prev_of{ refaddr $significant[$i] } = $significant[ $i - 1 ] if $i > 0;
}

for my $tok (@all) {
    my $class = ref $tok;
    my $text  = $tok->content;
    if ($class eq 'PPI::Token::Pod') {
        my $parent = $tok->parent;
        refuse($tok, 'POD inside a statement: Perl reads it as code there, PPI as POD')
            unless $parent->isa('PPI::Document') || $parent->isa('PPI::Structure::Block');
        # Perl starts POD at '=' and a letter, and ends it at '=cut' and no
        # letter (=cut2); PPI at '=' and \w, and at '=cut' and no \w. A POD
        # begun by =cut runs on to the next =cut for Perl, not for PPI.
        my @lines = split /^/, $text;
        refuse($tok, 'a POD command that is not = and a letter: Perl does not read it as POD')
            unless $lines[0] =~ /^=[A-Za-z]/;
        refuse($tok, 'POD that begins with =cut: Perl reads on to the next =cut, PPI stops here')
            if $lines[0] =~ /^=cut(?![A-Za-z])/;
        for my $i (1 .. $#lines - 1) {
            refuse($tok->line_number + $i, 'a =cut that PPI reads as POD and Perl as the end of it')
                if $lines[$i] =~ /^=cut(?![A-Za-z])/;
        }
        next;
    }
    next if $class =~ /^PPI::Token::(?:Comment|End|Data)$/;
    if ($class eq 'PPI::Token::Whitespace') {
        refuse($tok, sprintf('the character U+%04X, which Perl may not read as PPI does', ord $1))
            if $text =~ /([^ \t\n\f])/;
        next;
    }
    if ($class eq 'PPI::Token::Word') {
        my $next = $next_of{ refaddr $tok };
        my $prev = $prev_of{ refaddr $tok };
        if ($text =~ /(?:::|')\z/) {    # ${Hostile::}, % main:: : a symbol table
            my $cast = $prev && $prev->content eq '{' ? $prev_of{ refaddr $prev } : $prev;
            refuse($tok, shown($text) . " after a sigil reaches a package's symbol table, where $VAR can be changed without being named")
                if $cast && $cast->isa('PPI::Token::Cast');
        }
        next unless $text =~ /$NAME/ || $text =~ /^(?:eval|evalbytes|do|require)$/;
        my $quoted = $next && $next->isa('PPI::Token::Operator') && $next->content eq '=>';
        my $method = $prev && $prev->isa('PPI::Token::Operator') && $prev->content eq '->';
        refuse($tok, "$NAME is named as a bare word here, which the importer does not follow")
            if $text =~ /\b$NAME\b/ && !$quoted;
        next if $quoted || $method;
        my $block = $next && $next->content eq '{' && $next->parent->isa('PPI::Structure::Block');
        if ($text eq 'eval') {
            refuse($tok, 'a string eval runs code PPI cannot read') unless $block;
        }
        elsif ($text eq 'evalbytes') {
            refuse($tok, 'evalbytes runs code PPI cannot read');
        }
        elsif ($text eq 'do') {
            refuse($tok, 'do FILE runs code PPI cannot read') unless $block;
        }
        elsif ($text eq 'require' && !$tok->parent->isa('PPI::Statement::Include')) {
            refuse($tok, 'require loads code PPI cannot read');
        }
        next;
    }
    if ($class eq 'PPI::Token::Symbol') {
        refuse($tok, shown($text) . " reaches a package's symbol table, where $VAR can be changed without being named")
            if $text =~ /(?:::|')\z/;
        next unless $text =~ /$NAME/;
        refuse($tok, shown($text) . " shares $VAR\'s name but is another variable or its glob; cannot import it safely")
            unless $text eq $VAR && $tok->symbol eq $VAR;
        next;
    }
    if ($class eq 'PPI::Token::HereDoc') {
        my $body = join '', $tok->heredoc;
        # <<~ strips spaces and tabs for Perl; PPI takes any \s, \f and \v too.
        refuse($tok, "an indented here-document whose terminator is indented with other than spaces and tabs: Perl does not end it there")
            if ($tok->{_indentation} // '') =~ /[^ \t]/;
        next if ($tok->{_mode} // '') eq 'literal';
        check_interpolated($tok, $body) if $body =~ /$NAME/;
        my $code = interpolated_code($body, 0);
        refuse($tok, "a here-document that holds $code, which PPI does not read as code") if $code;
        next;
    }
    if ($class =~ $LITERAL) {
        next;
    }
    if ($class =~ $INTERPOLATING) {
        if ($class eq 'PPI::Token::Regexp::Substitute') {
            my ($flags) = $text =~ /([a-z]*)\z/;
            refuse($tok, 's///ee runs a string as code, which PPI cannot read') if $flags =~ /e.*e/;
            refuse($tok, 's///e runs its replacement as code, which PPI does not read')
                if $flags =~ /e/;
        }
        check_interpolated($tok, $text) if $text =~ /$NAME/;
        my $code = interpolated_code($text, $class =~ /Regexp/);
        refuse($tok, shown($text) . " holds $code, which PPI does not read as code") if $code;
        next;
    }
    refuse($tok, shown($text) . " names $VAR where the importer cannot follow it") if $text =~ /$NAME/;
}

# -- the statements at file scope --------------------------------------------------

for my $include (@{ $doc->find('PPI::Statement::Include') || [] }) {
    my $module = $include->module // '';
    my $type   = $include->type // '';
    next if $module eq '' && ($include->version // '') ne '';    # use v5.36, require 5.010
    if ($type eq 'no') {
        refuse($include, "no $module: without strict a name built at run time can reach $VAR")
            if $module eq 'strict';
        next if $PRAGMA{$module};
    }
    next if $type eq 'use' && $PRAGMA{$module};
    refuse($include, "'$type $module' loads code the importer does not read (an import or a source filter may change what Perl sees); only strict, warnings and utf8 are accepted");
}

for my $block (@{ $doc->find('PPI::Statement::Scheduled') || [] }) {
    my $type = $block->type // '';
    next if $type eq 'END';
    refuse($block, "a $type block runs code while the module is compiled, before anything the importer reads");
}

"""
