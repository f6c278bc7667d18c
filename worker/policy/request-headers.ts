/**
 * Edits the headers of the request the rest of the chain (and the app) will see. On Node
 * the incoming request's headers are mutable; on workerd and Deno they are immutable, so
 * the request is rebuilt once around edited headers (the body stream is carried over).
 * @module
 */

export interface HasRawRequest {
  req: { raw: Request }
}

export function editRequestHeaders(c: HasRawRequest, edit: (headers: Headers) => void): void {
  try {
    edit(c.req.raw.headers)
    return
  } catch (err) {
    if (!(err instanceof TypeError)) throw err
  }
  const headers = new Headers(c.req.raw.headers)
  edit(headers)
  const raw = c.req.raw
  c.req.raw = new Request(raw, { headers, ...(raw.body ? { duplex: 'half' } : {}) } as RequestInit)
}
