import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CLI } from './helpers.mjs';
import { collectShapes } from './json-shapes.mjs';

test('--json documents keep the shapes recorded before text output became human-readable', async () => {
  const expected = JSON.parse(readFileSync(new URL('./json-shapes.expected.json', import.meta.url), 'utf8'));
  const actual = await collectShapes(CLI);
  assert.deepEqual(Object.keys(actual), Object.keys(expected));
  for (const name of Object.keys(expected)) assert.deepEqual(actual[name], expected[name], `--json shape of "${name}"`);
});
