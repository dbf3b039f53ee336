#!/usr/bin/env python3
"""What a gallery reviewer checks, on the package `npm run package` writes for a gallery (FERRY_PUBLIC_URL set).

usage: scripts/check-package.py VSIX BASE_URL VSCE_OUTPUT_FILE
Prints one line per check and "package: N passed, N failed"; exits 1 if any failed.
"""
import json
import re
import struct
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
vsix, base, vsce_output = sys.argv[1], sys.argv[2].rstrip('/'), Path(sys.argv[3]).read_text()
results = []


def check(name, ok, detail=''):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")


z = zipfile.ZipFile(vsix)
names = set(z.namelist())
files = sorted(n[len('extension/'):] for n in names if n.startswith('extension/') and not n.endswith('/'))
pkg = json.loads(z.read('extension/package.json'))
nls = json.loads(z.read('extension/package.nls.json'))

warnings = [l for l in vsce_output.splitlines() if re.search(r'\bwarn', l, re.I)]
check('vsce packaged without a warning', not warnings, '; '.join(warnings))

allowed = re.compile(
    r'^(package\.json|package\.nls\.json|readme\.md|changelog\.md|LICENSE\.txt|l10n/bundle\.l10n\.json'
    r'|media/ferry\.(svg|png)|media/walkthrough/[\w-]+\.md'
    r'|dist/extension\.js|dist/webview/(monitor|traffic)\.js|dist/webview/[\w-]+\.css|dist/webview/codicon\.ttf)$'
)
stray = [f for f in files if not allowed.match(f)]
check('the package holds only the bundles, the strings, the icons, the walkthrough and the docs', not stray, ', '.join(stray))
size = sum(z.getinfo(n).file_size for n in names)
print(f'     {len(files)} files, {size / 1024:.0f} KiB unpacked, {Path(vsix).stat().st_size / 1024:.0f} KiB packed:')
for f in files:
    print(f"       {f} ({z.getinfo('extension/' + f).file_size / 1024:.1f} KiB)")

check('a license: the field (Open VSX) and the file', pkg.get('license') == 'MIT' and 'extension/LICENSE.txt' in names)

icon = pkg.get('icon', '')
png = z.read('extension/' + icon) if 'extension/' + icon in names else b''
width, height = struct.unpack('>II', png[16:24]) if png[:8] == b'\x89PNG\r\n\x1a\n' else (0, 0)
check('the icon is a PNG of at least 128×128 (galleries refuse SVG)', width >= 128 and height >= 128, f'{icon} {width}×{height}')

unresolved = []


def text(v):
    """a %key% of package.nls.json as the gallery shows it"""
    m = re.fullmatch(r'%(.+)%', v) if isinstance(v, str) else None
    if m and m.group(1) not in nls:
        unresolved.append(v)
    return nls.get(m.group(1), v) if m else v


for v in [pkg['displayName'], pkg['description']]:
    text(v)
for c in pkg['contributes']['commands']:
    text(c['title'])
    text(c.get('category', ''))
for w in pkg['contributes'].get('walkthroughs', []):
    for v in [w['title'], w['description']] + [s[k] for s in w['steps'] for k in ('title', 'description')]:
        text(v)
check('every %key% in package.json has its text in package.nls.json', not unresolved, ', '.join(unresolved))
check('a display name and a description', bool(text(pkg['displayName'])) and len(text(pkg['description'])) > 20)

readme = z.read('extension/readme.md').decode()
links = re.findall(r'!?\[[^\]]*\]\(([^)\s]+)', readme) + re.findall(r'<img[^>]+src="([^"]+)"', readme)
relative = [l for l in links if not re.match(r'(https?:|mailto:|#)', l)]
check("the README's links and images are absolute once the base URL is set", not relative, ', '.join(relative))
images = re.findall(r'!\[[^\]]*\]\(([^)\s]+)', readme)
outside = [i for i in images if not i.startswith(base + '/')]
check('its images are all served from the base URL', not outside, ', '.join(outside))
missing = [i for i in images if i.startswith(base + '/') and not (REPO / i[len(base) + 1:]).is_file()]
check('each image is a file of the repository (what the base URL serves)', not missing, ', '.join(missing))
svg = [i for i in images if i.lower().endswith('.svg')]
check('no SVG image in the README (the Marketplace refuses them)', not svg, ', '.join(svg))

for w in pkg['contributes'].get('walkthroughs', []):
    media = [s['media'].get('markdown') or s['media'].get('image') for s in w['steps']]
    absent = [m for m in media if 'extension/' + m not in names]
    check(f"walkthrough {w['id']}: every step's media is in the package", not absent, ', '.join(absent))

passed = sum(results)
print(f'package: {passed} passed, {len(results) - passed} failed')
sys.exit(0 if passed == len(results) else 1)
