#!/usr/bin/env python3
# Mixed texts for findings_diff.sh, \0-separated on stdout: string literals of the guard tests and
# benchmark, synthetic secrets, numbers, addresses and code names, spliced, mutated and cut.
# Usage: mixed_texts.py SEED ROOT > texts.bin   (ROOT: the repository whose tests to read)
import re, random, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
root = sys.argv[2] if len(sys.argv) > 2 else '.'
src = ''
for f in ['detector_test.cc','corpus_test.cc','guard_stage_test.cc','stream_scanner_test.cc','redact_test.cc','fast_match_test.cc']:
    try:
        src += open(root + '/src/switchyard/guard/' + f, encoding='utf-8').read()
    except FileNotFoundError:
        pass
src += open(root + '/bench/guard/scan_bench.cc').read()
lits = []
for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', src):
    s = m.group(1)
    try:
        s = bytes(s, 'utf-8').decode('unicode_escape').encode('latin-1', 'ignore').decode('utf-8', 'ignore')
    except Exception:
        continue
    if len(s) >= 2: lits.append(s)
for m in re.finditer(r'R"\((.*?)\)"', src, re.S):
    lits.append(m.group(1))
alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
def tok(n, a=alnum): return ''.join(random.choice(a) for _ in range(n))
def synth():
    r = random.random()
    c = random.choice([
        lambda: 'ghp_' + tok(36), lambda: 'github_pat_' + tok(60, alnum+'_'), lambda: 'sk-' + tok(random.choice([10,20,48])),
        lambda: 'sk-ant-api03-' + tok(random.choice([15,40,90]), alnum+'-_'), lambda: 'sk-proj-' + tok(40, alnum+'-_'),
        lambda: 'AKIA' + tok(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'), lambda: 'xoxb-' + tok(30, alnum+'-'),
        lambda: 'AIza' + tok(35, alnum+'_-'), lambda: 'eyJhbGciOiJIUzI1NiJ9.' + tok(30, alnum+'_-') + '.' + tok(20, alnum+'_-'),
        lambda: random.choice(['key','api_key','Token','password','secret','pwd','auth','credentials']) + random.choice([': ','=',' is ',' ','="','\t']) + tok(random.randint(4,40), alnum+'+/=_-.!@#'),
        lambda: '%d-%02d-%04d' % (random.randint(0,999), random.randint(0,99), random.randint(0,9999)),
        lambda: '+%d %d %d' % (random.randint(1,99), random.randint(10,9999), random.randint(1000,99999999)),
        lambda: '(%d) %d-%04d' % (random.randint(100,999), random.randint(100,999), random.randint(0,9999)),
        lambda: ' '.join(str(random.randint(1000,9999)) for _ in range(4)),
        lambda: '.'.join(str(random.randint(0,300)) for _ in range(random.choice([3,4,5]))),
        lambda: ':'.join('%x' % random.randint(0,65535) for _ in range(random.randint(2,8))) + random.choice(['','::1','::']),
        lambda: tok(random.randint(1,10)).lower() + '@' + tok(random.randint(1,8)).lower() + '.' + random.choice(['com','de','co.uk','x','']),
        lambda: random.choice(['DE89 3704 0044 0532 0130 00','GB29NWBK60161331926819','FR14 2004 1010 0505 0001 3M02 606']),
        lambda: 'https://user:' + tok(12) + '@host.example.com/x', lambda: 'AccountKey=' + tok(86, alnum+'+/') + '==',
        lambda: random.choice(['Project Bluebird','nightjar','KESTREL','\u212aestrel','spa\u017frrow','Sparrow']),
    ])
    return c()
def mutate(s):
    ops = random.randint(0, 3)
    s = list(s)
    for _ in range(ops):
        if not s: break
        i = random.randrange(len(s)); k = random.random()
        if k < 0.3: del s[i]
        elif k < 0.6: s.insert(i, random.choice(' -.:@_=+()1aZ\n"\''))
        elif k < 0.8: s[i] = s[i].swapcase()
        else: s[i] = random.choice('0123456789')
    return ''.join(s)
out = []
for i in range(40000):
    parts = []
    for _ in range(random.randint(1, 7)):
        p = synth() if random.random() < 0.5 else random.choice(lits)
        if random.random() < 0.3: p = mutate(p)
        parts.append(p)
    sep = random.choice([' ', '', '\n', ', ', ' and ', '"', '='])
    t = sep.join(parts)
    if random.random() < 0.1: t = t[random.randint(0, len(t)//2):]
    out.append(t)
sys.stdout.buffer.write('\0'.join(out).encode('utf-8', 'surrogateescape'))
