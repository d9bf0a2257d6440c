import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore, type OpenedStore } from '../../store/db.js';
import { imagesFrom } from './index.js';
import { authOf } from './testkit.js';

/** Compute's view of the real image service: lookups and the snapshot record reserved at createImage. */
describe('images for compute', () => {
  let store: OpenedStore;
  let dir: string;

  before(async () => {
    store = await openStore(':memory:');
    dir = mkdtempSync(join(tmpdir(), 'img-adapter-'));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a reserved snapshot is a queued private image with its properties, visible at once; release removes it', async () => {
    const images = imagesFrom({ store, cfg: { dataDir: dir } });
    const demo = authOf('p1');
    const id = '3f3b6c1e-1111-4222-8333-444455556666';
    await images.reserveSnapshot?.(demo, {
      id,
      name: 'snap',
      ownerProjectId: 'p1',
      instanceId: 'a-server',
      properties: { image_type: 'snapshot', instance_uuid: 'a-server' },
      minRam: 0,
      minDisk: 1,
    });
    const got = await images.getImage(demo, id);
    assert.equal(got?.status, 'queued');
    assert.equal(got?.name, 'snap');
    assert.equal(got?.visibility, 'private');
    assert.equal(got?.owner, 'p1');
    assert.equal(got?.minDisk, 1);
    assert.equal(got?.properties['image_type'], 'snapshot');
    assert.equal(await images.getImage(authOf('p2'), id), undefined, 'another project does not see it');
    await images.releaseSnapshot?.(demo, id);
    assert.equal(await images.getImage(demo, id), undefined);
  });
});
