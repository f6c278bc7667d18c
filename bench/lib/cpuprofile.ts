/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per
 * area (file or package), and inclusive time of selected frames.
 * @module
 */
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  startTime: number
  endTime: number
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  totalMs: number
  byFunction: { name: string; selfPct: number }[]
  byArea: { area: string; selfPct: number }[]
}

/** An area: a package under node_modules, a project folder, node internals, or a special frame. */
export function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)'
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm) return nm[1]!
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`
  const m = /\/work\/[^/]+\/(.+)$/.exec(url.replace('file://', ''))
  if (m) {
    const parts = m[1]!.split('/')
    return parts.length > 2 ? parts.slice(0, 2).join('/') + '/' : parts.join('/')
  }
  return url.replace('file://', '')
}

/** `window`: only the samples in [from, to] ms after the profile's start (e.g. the load period). */
export function summarizeProfile(path: string, top = 25, window?: { fromMs: number; toMs: number }): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  let total = 0
  let t = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0
    t += dt
    const rel = (t - p.startTime) / 1000
    if (window && (rel < window.fromMs || rel > window.toMs)) continue
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt)
    total += dt
  }
  const fn = new Map<string, number>()
  const area = new Map<string, number>()
  for (const [id, us] of self) {
    const n = byId.get(id)!
    const short = n.callFrame.url.replace(/^.*\/(node_modules\/)?/, '')
    const name = `${n.callFrame.functionName || '(anonymous)'} ${short ? `${short}:${n.callFrame.lineNumber + 1}` : ''}`.trim()
    fn.set(name, (fn.get(name) ?? 0) + us)
    const a = areaOf(n.callFrame.url, n.callFrame.functionName)
    area.set(a, (area.get(a) ?? 0) + us)
  }
  const pct = (us: number) => Math.round((1000 * us) / total) / 10
  return {
    totalMs: total / 1000,
    byFunction: [...fn].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, selfPct: pct(us) })),
    byArea: [...area].sort((a, b) => b[1] - a[1]).slice(0, top).map(([a, us]) => ({ area: a, selfPct: pct(us) })),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = summarizeProfile(process.argv[2]!, Number(process.argv[3] ?? 30))
  console.log(`total ${s.totalMs.toFixed(0)} ms sampled`)
  console.log('\nself time by area:')
  for (const a of s.byArea) console.log(`  ${a.selfPct.toFixed(1).padStart(5)}%  ${a.area}`)
  console.log('\nself time by function:')
  for (const f of s.byFunction) console.log(`  ${f.selfPct.toFixed(1).padStart(5)}%  ${f.name}`)
}
