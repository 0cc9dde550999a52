/**
 * Builds the OpenAPI 3.1 document from the routes Fastify registered (collected by an onRoute
 * hook), so the schema that validates a request is the schema that documents it.
 */
import type { RouteOptions } from 'fastify'

export interface RouteDoc {
  summary?: string
  tags?: string[]
  /** Minimum role when auth is on; undefined = public read. */
  role?: string
}

interface JsonSchema {
  properties?: Record<string, unknown>
  required?: string[]
  [k: string]: unknown
}

/** JSON Schema without TypeBox's symbol keys and with `$id`s removed (OpenAPI inlines them). */
function clean(s: unknown): unknown {
  return JSON.parse(JSON.stringify(s ?? {}))
}

function parametersOf(schema: unknown, where: 'path' | 'query') {
  const s = clean(schema) as JsonSchema
  const req = new Set(s.required ?? [])
  return Object.entries(s.properties ?? {}).map(([name, sch]) => {
    const { description, ...rest } = sch as { description?: string }
    return {
      name,
      in: where,
      required: where === 'path' ? true : req.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    }
  })
}

export function openapiDocument(routes: RouteOptions[], o: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {}
  const sorted = [...routes].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))
  for (const r of sorted) {
    const methods = (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD')
    const doc = (r.config as { doc?: RouteDoc } | undefined)?.doc
    if (doc === undefined || methods.length === 0) continue // undocumented route or auto-HEAD
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    const s = (r.schema ?? {}) as {
      params?: unknown
      querystring?: unknown
      body?: { content?: Record<string, { schema: unknown }> } | unknown
      response?: Record<string, unknown>
    }
    const responses: Record<string, unknown> = {}
    for (const [code, sch] of Object.entries(s.response ?? {})) {
      const problem = code.startsWith('4') || code.startsWith('5')
      responses[code.toUpperCase()] = {
        description: problem ? 'problem details (RFC 9457)' : 'success',
        content: { [problem ? 'application/problem+json' : 'application/json']: { schema: clean(sch) } },
      }
    }
    if (Object.keys(responses).length === 0) responses['200'] = { description: 'success' }
    const op: Record<string, unknown> = {
      operationId: `${methods[0].toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: doc.summary ?? '',
      tags: doc.tags ?? [],
      parameters: [...parametersOf(s.params, 'path'), ...parametersOf(s.querystring, 'query')],
      responses,
    }
    if (doc.role) {
      op.security = [{ bearer: [] }, { apiKey: [] }]
      op.description = `Requires role ${doc.role} or higher when auth is enabled.`
    }
    if (s.body !== undefined) {
      const b = s.body as { content?: Record<string, { schema: unknown }> }
      const content: Record<string, unknown> = {}
      if (b.content) for (const [t, c] of Object.entries(b.content)) content[t] = { schema: clean(c.schema) }
      else content['application/json'] = { schema: clean(s.body) }
      op.requestBody = { required: true, content }
    }
    for (const m of methods) {
      paths[path] ??= {}
      paths[path][m.toLowerCase()] = op
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: o.title, version: o.version },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
    },
  }
}

/** A dependency-free, browsable page over /v1/openapi.json (no CDN: works offline). */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PulseMesh API</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:70rem}code,pre{background:#f4f4f4;padding:2px 4px}
details{border-bottom:1px solid #ddd;padding:.4rem 0}summary{cursor:pointer}.m{display:inline-block;width:4rem;font-weight:bold}
.get{color:#0a6}.post{color:#06c}.delete{color:#c30}pre{white-space:pre-wrap;font-size:12px}</style></head>
<body><h1>PulseMesh node API</h1><p>OpenAPI 3.1 document: <a href="/v1/openapi.json">/v1/openapi.json</a>.
Errors are <code>application/problem+json</code> with a stable <code>code</code>.</p><div id="ops">loading…</div>
<script>
fetch('/v1/openapi.json').then(r=>r.json()).then(doc=>{
  const root=document.getElementById('ops');root.textContent='';
  for(const [p,ops] of Object.entries(doc.paths)) for(const [m,op] of Object.entries(ops)){
    const d=document.createElement('details');const s=document.createElement('summary');
    const mm=document.createElement('span');mm.className='m '+m;mm.textContent=m.toUpperCase();
    const c=document.createElement('code');c.textContent=p;s.append(mm,c,' ',op.summary||'');d.append(s);
    const pre=document.createElement('pre');pre.textContent=JSON.stringify({parameters:op.parameters,requestBody:op.requestBody,responses:op.responses,security:op.security},null,2);
    d.append(pre);root.append(d);
  }
});
</script></body></html>
`
