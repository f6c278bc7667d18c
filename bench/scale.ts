/** Config scale (placeholder until compileRoutes exists). @module */
export async function runScale(o: { dir: string; upstreamUrl: string; upstreamPort: number; durationS: number; log: (s: string) => void }): Promise<unknown> {
  o.log('scale: not implemented yet')
  return { skipped: 'not implemented yet' }
}
