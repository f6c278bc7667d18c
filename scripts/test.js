#!/usr/bin/env node
// Runs every test file under test/ with Node's own test runner (through tsx, since Node 20
// cannot strip types), prints the spec report, and closes with a plain
// "N passed, N failed, N skipped" line. `npm test -- <filter>` runs the files whose path
// contains <filter>.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'

function find(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...find(path))
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const filters = process.argv.slice(2)
const files = find('test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
if (files.length === 0) {
  console.error('no test files matched')
  process.exit(1)
}
const tap = join(tmpdir(), `legate-test-${process.pid}.tap`)
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { stdio: 'inherit', env: { ...process.env, LEGATE_LOG_LEVEL: process.env.LEGATE_LOG_LEVEL ?? 'silent' } },
)
child.on('exit', (code, signal) => {
  let summary = ''
  try {
    const text = readFileSync(tap, 'utf8')
    const count = (key) => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
    summary = `${count('pass')} passed, ${count('fail') + count('cancelled')} failed, ${count('skipped') + count('todo')} skipped`
    rmSync(tap, { force: true })
  } catch {
    summary = `0 passed, 1 failed (the test runner ended with ${signal ?? code} before reporting)`
  }
  console.log(`\n${summary}`)
  process.exit(code ?? 1)
})
