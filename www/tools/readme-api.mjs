#!/usr/bin/env node
// Writes the element's API reference in docs/element.md from
// www/custom-elements.json, between the markers below; `--check` only compares
// and exits 1 if docs/element.md is stale (run by `make test`).
//   node www/tools/readme-api.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PAGE = join(root, 'docs', 'element.md');
const MANIFEST = join(root, 'www', 'custom-elements.json');
const START = '<!-- api:start (generated from www/custom-elements.json by `node www/tools/readme-api.mjs`: edit the manifest, not this) -->';
const END = '<!-- api:end -->';

/** The element's declaration in a Custom Elements Manifest. */
export function elementOf(manifest) {
  for (const mod of manifest.modules) {
    for (const d of mod.declarations ?? []) if (d.customElement) return d;
  }
  throw new Error('the manifest declares no custom element');
}

const cell = (text) => String(text).replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (text) => `\`${text}\``;
// `CustomEvent<{ a: T }>` -> `{ a: T }`
const detailOf = (type) => type.replace(/^CustomEvent<([\s\S]*)>$/, '$1');

export function render(manifest) {
  const el = elementOf(manifest);
  const out = [START, ''];
  out.push('| attribute | type | default | meaning |', '|---|---|---|---|');
  for (const a of el.attributes) out.push(`| ${code(a.name)} | ${code(cell(a.type.text))} | ${cell(a.default ?? '')} | ${cell(a.description)} |`);
  out.push('', 'Methods (each returns a promise; bad arguments reject with a `RangeError` or `TypeError`, other failures with an `Error` whose `name` is one of the kinds of the `error` event):', '');
  for (const m of el.members.filter((x) => x.kind === 'method')) {
    const params = (m.parameters ?? []).map((p) => `${p.name}${p.optional ? '?' : ''}: ${p.type.text}`).join(', ');
    out.push(`- ${code(`${m.name}(${params}): ${m.return.type.text}`)}: ${m.description}`);
  }
  out.push('', 'Properties (read-only):', '');
  for (const f of el.members.filter((x) => x.kind === 'field')) out.push(`- ${code(`${f.name}: ${f.type.text}`)}: ${f.description}`);
  out.push('', 'Events (`CustomEvent`s on the element; they do not bubble):', '');
  for (const e of el.events) out.push(`- ${code(e.name)} ${code(detailOf(e.type.text))}: ${e.description}`);
  out.push('', END);
  return out.join('\n');
}

function main() {
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  const page = readFileSync(PAGE, 'utf8');
  const a = page.indexOf(START);
  const b = page.indexOf(END);
  if (a < 0 || b < a) {
    console.error(`readme-api: docs/element.md has no ${START} ... ${END} block`);
    process.exit(1);
  }
  const next = page.slice(0, a) + render(manifest) + page.slice(b + END.length);
  if (process.argv.includes('--check')) {
    if (next !== page) {
      console.error('readme-api: the API reference in docs/element.md is stale: run `node www/tools/readme-api.mjs`.');
      process.exit(1);
    }
    return;
  }
  if (next !== page) writeFileSync(PAGE, next);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
