import { useState, type FormEvent } from 'react';
import { useAccess, useApi } from '../api/session';
import { useKeypairs, useRefresh } from '../api/queries';
import type { Keypair } from '../api/types';
import { errorMessage } from '../api/errors';
import { Button, TextArea, TextInput } from '../ui/controls';
import { Dialog } from '../ui/dialog';
import { Empty, ErrorText, Loading } from '../ui/feedback';
import { useSubmit } from '../ui/form';
import { useTitle } from '../router';

/** Offers the private key as a file download; the cloud never shows it again. */
function downloadKey(name: string, key: string): void {
  const url = URL.createObjectURL(new Blob([key], { type: 'application/x-pem-file' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `${name}.pem`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function KeyDialog({ mode, onClose }: { mode: 'create' | 'import' | undefined; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [created, setCreated] = useState<Keypair | undefined>(undefined);
  const s = useSubmit({ name: ['name', 'already exists', 'key pair'], publicKey: ['public key', 'public_key', 'fingerprint', 'keypair data'] });

  const close = () => {
    setCreated(undefined);
    setName('');
    setPublicKey('');
    s.clear();
    onClose();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const keypair: Record<string, string> = { name: name.trim() };
    if (mode === 'import') keypair['public_key'] = publicKey.trim();
    void s.run(async () => {
      const kp = (await api.post<{ keypair: Keypair }>('compute', '/os-keypairs', { keypair })).keypair;
      await refresh('keypairs');
      if (kp.private_key) {
        setCreated(kp);
        downloadKey(kp.name, kp.private_key);
      } else close();
    });
  };

  return (
    <Dialog title={mode === 'import' ? 'Import a public key' : 'Create a key pair'} open={mode !== undefined} onClose={close}>
      {created?.private_key ? (
        <div>
          <p className="notice" role="status">
            Key pair {created.name} is created and its private key is downloading as {created.name}.pem. This is the only time it is shown: keep it
            safe (chmod 600).
          </p>
          <Button onClick={() => created.private_key && downloadKey(created.name, created.private_key)}>Download again</Button>{' '}
          <Button variant="primary" onClick={close}>
            Done
          </Button>
        </div>
      ) : (
        <form onSubmit={submit}>
          <TextInput label="Key pair name" value={name} onChange={(e) => setName(e.target.value)} required error={s.errorFor('name')} autoFocus />
          {mode === 'import' ? (
            <>
              <TextArea label="Public key" value={publicKey} onChange={(e) => setPublicKey(e.target.value)} rows={4} required placeholder="ssh-ed25519 AAAA… you@host" error={s.errorFor('publicKey')} />
              <label className="file-pick">
                Or read it from a file{' '}
                <input
                  type="file"
                  accept=".pub,text/plain"
                  onChange={(e) => {
                    const f = e.target.files?.[0];
                    if (f) void f.text().then((t) => setPublicKey(t.trim()));
                  }}
                />
              </label>
            </>
          ) : null}
          {s.formError ? (
            <p className="error" role="alert">
              {s.formError}
            </p>
          ) : null}
          <div className="actions">
            <Button onClick={close}>Cancel</Button>
            <Button type="submit" variant="primary" busy={s.pending}>
              {mode === 'import' ? 'Import key' : 'Create key pair'}
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/** The user's key pairs: create (private key downloaded once), import, delete. */
export function KeyPairs() {
  useTitle('Key pairs');
  const api = useApi();
  const refresh = useRefresh();
  const { whyNot } = useAccess();
  const keypairs = useKeypairs();
  const [mode, setMode] = useState<'create' | 'import' | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  if (!api.has('compute')) {
    return (
      <section>
        <h1>Key pairs</h1>
        <p>This cloud has no compute service in its catalog yet.</p>
      </section>
    );
  }
  const remove = (k: Keypair) => {
    if (!window.confirm(`Delete key pair ${k.name}? Instances that have it keep it.`)) return;
    setError(undefined);
    api
      .delete('compute', `/os-keypairs/${encodeURIComponent(k.name)}`)
      .then(() => refresh('keypairs'))
      .catch((err: unknown) => setError(`${k.name}: ${errorMessage(err)}`));
  };
  return (
    <section>
      <div className="page-head">
        <h1>Key pairs</h1>
        <div className="row-actions">
          <Button variant="primary" disabledReason={whyNot} onClick={() => setMode('create')}>
            Create key pair
          </Button>
          <Button disabledReason={whyNot} onClick={() => setMode('import')}>
            Import public key
          </Button>
        </div>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {keypairs.isPending ? <Loading what="key pairs" /> : null}
      <ErrorText error={keypairs.error} />
      {keypairs.data?.length === 0 ? <Empty title="No key pairs yet.">Create one (you download the private key once) or import your own public key.</Empty> : null}
      {keypairs.data?.length ? (
        <table className="table">
          <caption className="sr-only">Key pairs</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Fingerprint</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keypairs.data.map((k) => (
              <tr key={k.name} data-keypair={k.name}>
                <td>{k.name}</td>
                <td>{k.type ?? 'ssh'}</td>
                <td>
                  <code>{k.fingerprint}</code>
                </td>
                <td>
                  <Button variant="danger" disabledReason={whyNot} onClick={() => remove(k)} aria-label={`Delete key pair ${k.name}`}>
                    Delete
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <KeyDialog mode={mode} onClose={() => setMode(undefined)} />
    </section>
  );
}
