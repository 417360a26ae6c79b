// After `vite build`: writes dist/THIRD-PARTY-LICENSES.txt (the licence text of every npm
// package in the bundle, from node_modules) and dist/build-manifest.json (sha256 of every dist
// file, the bundled packages with their registry integrity from package-lock.json, and one
// sha256 over the console's sources). tests/api/test_console_build.py recomputes the hashes.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const consoleDir = fileURLToPath(new URL('..', import.meta.url))
const repo = join(consoleDir, '..', '..')
const dist = join(consoleDir, 'dist')
const posix = (p) => p.split(sep).join('/')
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex')

function walk(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}

/** The files the build is made from, as repository paths (the same list as the Python test's). */
function sourceFiles() {
  const fixed = ['api/console/index.html', 'api/console/vite.config.js', 'api/console/package.json',
    'api/console/package-lock.json', 'api/console/tools/build-info.mjs', 'scripts/build_console.sh']
  const trees = ['src', 'public'].flatMap((d) => walk(join(consoleDir, d)))
  return [...fixed, ...trees.map((p) => posix(relative(repo, p)))].sort()
}

function sourcesHash(files) {
  const h = createHash('sha256')
  for (const f of files) h.update(`${f}\n${sha256(readFileSync(join(repo, f)))}\n`)
  return h.digest('hex')
}

const LICENCE_FILE = /^(licen[cs]e|copying)(\.(md|txt))?$/i
const NOTICE_FILE = /^notice(\.(md|txt))?$/i
const MIT = (holder) => `MIT License

Copyright (c) ${holder}

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`

function licenceText(dir, pkg) {
  const names = readdirSync(dir)
  const files = [...names.filter((n) => LICENCE_FILE.test(n)), ...names.filter((n) => NOTICE_FILE.test(n))]
  if (files.length) return files.map((n) => readFileSync(join(dir, n), 'utf8').trim()).join('\n\n')
  const author = typeof pkg.author === 'string' ? pkg.author : (pkg.author && pkg.author.name) || pkg.name
  if (pkg.license === 'MIT') {
    return `(The package ships no licence file; its package.json declares "MIT", author ${author}.)\n\n${MIT(author)}`
  }
  throw new Error(`${pkg.name}: no licence file and licence ${pkg.license} is not MIT: add its text by hand`)
}

const lock = JSON.parse(readFileSync(join(consoleDir, 'package-lock.json'), 'utf8'))
const bundled = JSON.parse(readFileSync(join(consoleDir, 'node_modules', '.counterwatch-bundled.json'), 'utf8'))
const packages = bundled.map((key) => {
  const entry = lock.packages[key]
  if (!entry || !entry.integrity) throw new Error(`${key} is bundled but not locked with an integrity hash`)
  const pkg = JSON.parse(readFileSync(join(consoleDir, key, 'package.json'), 'utf8'))
  if (pkg.version !== entry.version) throw new Error(`${key}: node_modules has ${pkg.version}, the lock ${entry.version}: run npm ci`)
  return { key, name: pkg.name, version: pkg.version, license: pkg.license || '', integrity: entry.integrity,
           resolved: entry.resolved || '', text: licenceText(join(consoleDir, key), pkg) }
})

const rule = '='.repeat(78)
writeFileSync(join(dist, 'THIRD-PARTY-LICENSES.txt'), [
  'Third-party software in the counterwatch console bundle (api/console/dist).',
  'Collected from node_modules by scripts/build_console.sh; versions and integrity in build-manifest.json.',
  '', ...packages.flatMap((p) => [rule, `${p.name} ${p.version} (${p.license})`, rule, '', p.text, '']),
].join('\n'))

const files = {}
for (const p of walk(dist)) {
  const rel = posix(relative(dist, p))
  if (rel !== 'build-manifest.json') files[rel] = sha256(readFileSync(p))
}
const srcs = sourceFiles()
const manifest = {
  about: 'The committed build of the console: tests/api/test_console_build.py checks it against the sources.',
  node: process.version,
  sources: { sha256: sourcesHash(srcs), files: srcs },
  files,
  packages: packages.map(({ text, ...p }) => p),
}
writeFileSync(join(dist, 'build-manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
console.log(`build-info: ${Object.keys(files).length} files, ${packages.length} packages, sources ${manifest.sources.sha256.slice(0, 12)}`)
