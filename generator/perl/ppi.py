"""Reading a Perl module as Perl does, without running it: PPI, in a perl subprocess.

Entry point: `read_hash`. It hands the module's text to `perl` on stdin, where
the script below parses it with PPI (Debian: libppi-perl), finds the statement
``our $hmp_command_perms = { ... };`` and prints its entries as JSON, or the
first thing it cannot prove, as a line and a message. PPI works on statements
and tokens, so a copy of the hash in a string, a here-document, POD or a
comment is never taken for code, and a definition split over lines is read.

What the script refuses, each as ``file:line: what``: a parse PPI calls
incomplete or cannot place; a value that is not a plain string literal (a
double-quoted one without variables or escapes is plain); a second definition,
or one not at file scope; any use of the variable that is not a read it can
prove harmless (``$hmp_command_perms->{$name}`` as a subscript, under
``exists``, or as a ``my`` variable's value; ``keys`` of the hash), so no write,
``delete``, reference or alias; code it cannot see (string ``eval``, ``do FILE``,
``s///ee``, modules other than strict, warnings and utf8, ``BEGIN`` blocks); a
dereference by name (``${...}``, ``$$x``, ``*{...}``) where ``use strict`` is not
in force; code before the hash other than declarations; and
the places where Perl and PPI read text differently (a lone carriage return,
POD inside a statement, odd whitespace).

The run is bounded: `TIMEOUT` seconds, `MAX_OUTPUT` bytes of output (a file
size limit on its stdout and stderr files), and perl's own environment
switches (PERL5OPT and the like) are dropped so that they cannot load code.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from typing import IO, Any

from generator.errors import HmpPermsError, SourceInfo

TIMEOUT = 60  # seconds; PPI reads Proxmox's module in a fraction of one
MAX_OUTPUT = 64 * 1024 * 1024  # bytes of perl's stdout or stderr
INSTALL = "apt-get install libppi-perl"
#: Variables that make perl load or run code, or read stdin as other than bytes.
_PERL_SWITCHES = ("PERL5OPT", "PERL5DB", "PERL_UNICODE", "PERLIO")


@dataclass(frozen=True)
class Entry:
    key: str
    level: str
    line: int
    comments: tuple[str, ...]  # the comment lines just above it, in order
    help: str  # the comment at the end of its line


@dataclass(frozen=True)
class Hash:
    line: int  # where the definition starts
    entries: tuple[Entry, ...]


def read_hash(path: str, text: str) -> Hash:
    """The permission hash of the module `text` (read from `path`), as PPI reads it."""
    perl = shutil.which("perl")
    if perl is None:
        raise HmpPermsError(
            f"{path}: import-perl reads the module with perl and PPI, and perl is not"
            f" installed: apt-get install perl libppi-perl"
        )
    answer = _answer(path, _run(path, perl, text.encode("utf-8")))
    if "missing" in answer:
        raise HmpPermsError(
            f"{path}: import-perl reads the module with Perl's PPI module, which is not"
            f" installed: {INSTALL}"
        )
    if "error" in answer:
        error = answer["error"]
        line, message = error.get("line"), error.get("message")
        if type(line) is not int or not isinstance(message, str):
            raise _bad_answer(path, "an error without a line and a message")
        raise HmpPermsError(" ".join(message.split()), SourceInfo(path, max(line, 1)))
    return _hash(path, answer)


def _run(path: str, perl: str, source: bytes) -> bytes:
    env = {k: v for k, v in os.environ.items() if k not in _PERL_SWITCHES}

    def limit_output() -> None:  # in the child, before perl starts
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT, MAX_OUTPUT))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            done = subprocess.run(
                [perl, "-e", SCRIPT],
                input=source,
                stdout=out,
                stderr=err,
                env=env,
                timeout=TIMEOUT,
                preexec_fn=limit_output,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HmpPermsError(
                f"{path}: perl did not finish reading it with PPI in {TIMEOUT} s"
            ) from None
        except OSError as exc:
            raise HmpPermsError(f"{path}: cannot run perl: {exc.strerror or exc}") from None
        said = _head(err, 2000).decode("utf-8", "replace")
        if done.returncode == -signal.SIGXFSZ:
            raise HmpPermsError(
                f"{path}: perl wrote more than {MAX_OUTPUT:,} bytes reading it with PPI; stopped"
            )
        if done.returncode != 0:
            how = f"exit {done.returncode}" if done.returncode > 0 else f"signal {-done.returncode}"
            reason = " ".join(said.split()) or "nothing on stderr"
            raise HmpPermsError(f"{path}: perl failed reading it with PPI ({how}): {reason}")
        return _head(out, MAX_OUTPUT)


def _head(file: IO[bytes], size: int) -> bytes:
    file.seek(0)
    return file.read(size)


def _bad_answer(path: str, what: str) -> HmpPermsError:
    return HmpPermsError(f"{path}: perl's PPI reader gave an answer this tool cannot use: {what}")


def _answer(path: str, output: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(output.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _bad_answer(path, f"not JSON ({output[:60]!r})") from None
    if not isinstance(answer, dict):
        raise _bad_answer(path, "not a JSON object")
    return answer


def _hash(path: str, answer: dict[str, Any]) -> Hash:
    line, items = answer.get("line"), answer.get("entries")
    if type(line) is not int or not isinstance(items, list):
        raise _bad_answer(path, "no line and entries")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            raise _bad_answer(path, "an entry that is not an object")
        key, level, at, comments, help_text = (
            item.get(k) for k in ("key", "level", "line", "comments", "help")
        )
        if not (
            isinstance(key, str)
            and isinstance(level, str)
            and type(at) is int
            and isinstance(help_text, str)
            and isinstance(comments, list)
            and all(isinstance(c, str) for c in comments)
        ):
            raise _bad_answer(path, "an entry without key, level, line, comments and help")
        entries.append(Entry(key, level, at, tuple(comments), help_text))
    return Hash(line, tuple(entries))


# The Perl side. It reads bytes and prints bytes: a module without `use utf8`
# is bytes to Perl too, and the JSON carries them through unchanged.
SCRIPT = r"""
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
        next;
    }
    next if $class =~ /^PPI::Token::(?:Comment|End|Data)$/;
    if ($class eq 'PPI::Token::Whitespace') {
        refuse($tok, sprintf('the character U+%04X, which Perl may not read as PPI does', ord $1))
            if $text =~ /([^ \t\n\f])/;
        next;
    }
    if ($class eq 'PPI::Token::Word') {
        next unless $text =~ /$NAME/ || $text =~ /^(?:eval|evalbytes|do|require)$/;
        my $next = $next_of{ refaddr $tok };
        my $prev = $prev_of{ refaddr $tok };
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
        next if ($tok->{_mode} // '') eq 'literal' || $body !~ /$NAME/;
        check_interpolated($tok, $body);
        next;
    }
    if ($class =~ $LITERAL) {
        next;
    }
    if ($class =~ $INTERPOLATING) {
        if ($class eq 'PPI::Token::Regexp::Substitute') {
            my ($flags) = $text =~ /([a-z]*)\z/;
            refuse($tok, 's///ee runs a string as code, which PPI cannot read') if $flags =~ /e.*e/;
            refuse($tok, "s///e with code that names $VAR: PPI does not read it as code")
                if $flags =~ /e/ && $text =~ /$NAME/;
        }
        check_interpolated($tok, $text) if $text =~ /$NAME/;
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
# early or change what follows. Only declarations may stand there.
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
        next if @words == 1 && $words[0] == $stmt->schild(0);    # literals only
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

my $ASSIGN = qr/^(?:(?:\*\*|\/\/|\|\||&&|<<|>>|[-+*\/.%x|&^])?=|=~|\+\+|--)$/;

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
        next if @s == 7 && $s[1]->isa('PPI::Token::Symbol') && $s[1]->content =~ /^\$/
            && $s[2] == $prev && is_op($prev, '=') && $s[3] == $tok && $s[6] == $after
            && $after->content eq ';';
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
