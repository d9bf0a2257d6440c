import { join } from 'node:path';

/** Where everything of one cloud lives inside its data dir. */
export function dataFiles(dataDir: string) {
  return {
    store: join(dataDir, 'stacklet.db'),
    tokenKey: join(dataDir, 'token.key'),
    secrets: join(dataDir, 'secrets.json'),
    cloudsYaml: join(dataDir, 'clouds.yaml'),
    pid: join(dataDir, 'stacklet.pid'),
    state: join(dataDir, 'state.json'),
    log: join(dataDir, 'stacklet.log'),
    images: join(dataDir, 'images'),
    instances: join(dataDir, 'instances'),
    /** The KVM probe's cached verdict (src/host/compute/qemu/probe.ts). */
    kvmProbe: join(dataDir, 'kvm-probe.json'),
    run: join(dataDir, 'run'),
    cache: join(dataDir, 'cache'),
  };
}

export type DataFiles = ReturnType<typeof dataFiles>;

/** What a running daemon writes for `status`, `down` and `clouds-yaml` to read. */
export interface RunState {
  pid: number;
  version: string;
  baseUrl: string;
  listen: string;
  sandbox: string | null;
  startedAt: string;
}
