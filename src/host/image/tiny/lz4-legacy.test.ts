import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lz4CompressBlock, lz4LegacyFrame } from './lz4-legacy.js';

/** A plain LZ4 block decoder: the reference the compressor must round-trip through. */
function decodeBlock(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let ip = 0;
  const length = (base: number): number => {
    let len = base;
    if (base === 15) {
      for (;;) {
        const b = src[ip++] ?? 0;
        len += b;
        if (b !== 255) break;
      }
    }
    return len;
  };
  while (ip < src.length) {
    const token = src[ip++] ?? 0;
    const lit = length(token >> 4);
    for (let i = 0; i < lit; i++) out.push(src[ip++] ?? 0);
    if (ip >= src.length) break;
    const offset = (src[ip] ?? 0) | ((src[ip + 1] ?? 0) << 8);
    ip += 2;
    assert.ok(offset > 0 && offset <= out.length, 'match offset within output');
    const ml = length(token & 15) + 4;
    const from = out.length - offset;
    for (let i = 0; i < ml; i++) out.push(out[from + i] ?? 0);
  }
  return Uint8Array.from(out);
}

test('LZ4 blocks round-trip for text, zeros, random and tiny inputs', () => {
  const inputs = [
    Buffer.alloc(0),
    Buffer.from('a'),
    Buffer.from('hello hello hello hello hello hello world'),
    Buffer.alloc(100_000),
    randomBytes(70_000),
    Buffer.from('#!/bin/sh\n'.repeat(5000) + 'x'.repeat(300)),
  ];
  for (const input of inputs) {
    const block = lz4CompressBlock(input);
    assert.deepEqual(Buffer.from(decodeBlock(block)), input);
  }
});

test('the legacy frame starts with the kernel magic and splits at 8 MiB', () => {
  const data = Buffer.alloc(9 * 1024 * 1024, 7);
  const frame = lz4LegacyFrame(data);
  assert.equal(frame.readUInt32LE(0), 0x184c2102);
  const first = frame.readUInt32LE(4);
  const second = frame.readUInt32LE(8 + first);
  assert.equal(8 + first + 4 + second, frame.length);
  const out = Buffer.concat([decodeBlock(frame.subarray(8, 8 + first)), decodeBlock(frame.subarray(12 + first))]);
  assert.ok(out.equals(data));
});
