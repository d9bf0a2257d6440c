import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloudError } from '../errors.js';
import { MAX_MICROVERSION, negotiate, requestedVersion, versionString } from './microversion.js';

describe('microversion negotiation', () => {
  test('absent is 2.1, latest is the maximum, either header works, the modern one wins', () => {
    assert.equal(versionString(negotiate(undefined, undefined)), '2.1');
    assert.equal(versionString(negotiate('compute latest', undefined)), versionString(MAX_MICROVERSION));
    assert.equal(versionString(negotiate(undefined, '2.60')), '2.60');
    assert.equal(versionString(negotiate('compute 2.47', '2.10')), '2.47');
    assert.equal(versionString(negotiate('volume 3.5, compute 2.38', undefined)), '2.38');
    assert.equal(versionString(negotiate('volume 3.5', '2.9')), '2.9');
    assert.equal(requestedVersion(['identity 3.1', 'compute 2.3'], undefined), '2.3');
  });

  test('too new or too old is a 406 computeFault with the range; malformed is a 400', () => {
    assert.throws(
      () => negotiate('compute 2.92', undefined),
      (e: unknown) =>
        e instanceof CloudError && e.status === 406 && e.message === `Version 2.92 is not supported by the API. Minimum is 2.1 and maximum is ${versionString(MAX_MICROVERSION)}.`,
    );
    assert.throws(() => negotiate(undefined, '2.0'), (e: unknown) => e instanceof CloudError && e.status === 406);
    assert.throws(() => negotiate(undefined, '3.0'), (e: unknown) => e instanceof CloudError && e.status === 406);
    for (const bad of ['2', '2.01', 'abc', '2.1.1', ' ', 'compute']) {
      assert.throws(
        () => negotiate(undefined, bad === ' ' ? 'x' : bad),
        (e: unknown) => e instanceof CloudError && e.status === 400 && /is of invalid format/.test(e.message),
        bad,
      );
    }
  });
});
