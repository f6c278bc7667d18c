/** Propagation (placeholder until control and ambassador exist). @module */
export async function runPropagation(o: { dir: string; upstreamUrl: string; log: (s: string) => void }): Promise<unknown> {
  o.log('propagation: not implemented yet')
  return { skipped: 'not implemented yet' }
}
