/**
 * What the manifests source keeps of a file between parses (so that an unchanged file is not parsed
 * again) holds no YAML nodes: an object's positions are found again from the text when an error asks
 * for them, and are the same as the parse's own.
 */
import { describe, expect, it } from 'vitest';
import { keptContents, readDocuments } from '../../src/sources/manifests/documents.ts';

const TEXT = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
    - port: 80
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: api
    spec:
      ports:
        - name: http
          port: 8080
`;

const PATHS = [[], ['metadata', 'name'], ['spec', 'ports', 0, 'port'], ['spec', 'ports', 0, 'name'], ['nowhere']];

describe('keptContents', () => {
  it('finds every object’s positions again from the text, as the parse found them', () => {
    const parsed = readDocuments('web.yaml', TEXT);
    const kept = keptContents(TEXT, readDocuments('web.yaml', TEXT));
    expect(kept.objects.map((o) => [o.document, o.at, o.kind])).toEqual(parsed.objects.map((o) => [o.document, o.at, o.kind]));
    expect(kept.objects.map((o) => o.value)).toEqual(parsed.objects.map((o) => o.value));
    parsed.objects.forEach((o, i) => {
      const k = kept.objects[i];
      for (const path of PATHS) expect(k?.positions.at(path)).toEqual(o.positions.at(path));
    });
    expect(kept.objects[1]?.positions.at(['metadata', 'name'])).toEqual({ line: 15, column: 7 });
  });
});
