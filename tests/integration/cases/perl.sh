# perl: hash- and string-heavy work (200k keys, joins, splits, regexes,
# sort, sprintf), digested with Digest::MD5.
case_needs() { echo perl; }
case_run() {
  tp_run perl -MDigest::MD5=md5_hex -e '
    my (%h, %c, @l);
    for my $i (1 .. 200000) { my $k = "key" . ($i * 7919 % 1000003); $h{$k} .= "v$i,"; }
    my $s = join "|", map { "$_=$h{$_}" } sort keys %h;
    $c{$_}++ for split //, $s;
    push @l, sprintf("%08x:%s", $_, scalar reverse "$_" x 7) for 1 .. 100000;
    my @m = grep { /^0+[1-9a-f]{2}[0-9]/ } @l;
    (my $t = $s) =~ s/v(\d+)/<$1>/g;
    print length($s), " ", scalar(keys %h), " ", md5_hex($s), "\n";
    print join(",", map { "$_:$c{$_}" } sort keys %c), "\n";
    print scalar(@m), " ", md5_hex(join "", sort @l), " ", md5_hex($t), "\n";'
}
