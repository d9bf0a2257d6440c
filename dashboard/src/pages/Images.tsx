import { useRef, useState, type FormEvent } from 'react';
import { useAccess, useApi, useSession } from '../api/session';
import { useImages, useRefresh } from '../api/queries';
import type { Image } from '../api/types';
import { errorMessage } from '../api/errors';
import { uploadFile } from '../api/upload';
import { Button, Field, Select, TextInput } from '../ui/controls';
import { Dialog } from '../ui/dialog';
import { Empty, ErrorText, Loading, ProgressBar, Status, formatBytes } from '../ui/feedback';
import { useSubmit } from '../ui/form';
import { useTitle } from '../router';

const FORMATS = ['qcow2', 'raw', 'iso', 'vmdk', 'vdi', 'vhd', 'ami', 'aki', 'ari'];

/** A disk format guessed from the file name; the server checks the real one. */
function guessFormat(name: string): string {
  const ext = name.toLowerCase().split('.').pop() ?? '';
  if (ext === 'qcow2' || ext === 'qcow') return 'qcow2';
  if (ext === 'iso') return 'iso';
  if (ext === 'vmdk' || ext === 'vdi' || ext === 'vhd') return ext;
  return 'raw';
}

/**
 * Creates the image record, then streams the file into it with progress. If
 * the upload fails or is cancelled the record is deleted again, so no empty
 * "queued" image is left behind.
 */
function UploadDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const api = useApi();
  const { session } = useSession();
  const refresh = useRefresh();
  const [name, setName] = useState('');
  const [file, setFile] = useState<File | undefined>(undefined);
  const [format, setFormat] = useState('qcow2');
  const [progress, setProgress] = useState<number | undefined>(undefined);
  const abort = useRef<AbortController | undefined>(undefined);
  const s = useSubmit({ name: ['name'], format: ['disk_format', 'disk format', 'format', 'backing'], file: ['size', 'quota', 'storage'] });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!file) return s.fail('Choose a file to upload.', 'file');
    const ctrl = new AbortController();
    abort.current = ctrl;
    setProgress(0);
    void s
      .run(async () => {
        const image = await api.post<Image>('image', '/images', {
          name: name.trim() || file.name,
          disk_format: format,
          container_format: 'bare',
          visibility: 'private',
        });
        try {
          await uploadFile(api.url('image', `/images/${image.id}/file`), session?.token ?? '', file, setProgress, ctrl.signal);
        } catch (err) {
          await api.delete('image', `/images/${image.id}`).catch(() => undefined);
          throw err;
        }
        await refresh('images');
      })
      .then((ok) => {
        setProgress(undefined);
        if (ok) {
          setName('');
          setFile(undefined);
          onClose();
        }
      });
  };

  return (
    <Dialog
      title="Upload an image"
      open={open}
      onClose={() => {
        abort.current?.abort();
        onClose();
      }}
    >
      <form onSubmit={submit}>
        <Field label="Image file" error={s.errorFor('file')}>
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              type="file"
              aria-describedby={describedBy}
              aria-invalid={invalid || undefined}
              onChange={(e) => {
                const f = e.target.files?.[0];
                setFile(f);
                if (f) {
                  setFormat(guessFormat(f.name));
                  if (!name) setName(f.name.replace(/\.(qcow2?|img|raw|iso)$/i, ''));
                }
              }}
            />
          )}
        </Field>
        <TextInput label="Name" value={name} onChange={(e) => setName(e.target.value)} error={s.errorFor('name')} />
        <Select label="Disk format" value={format} onChange={(e) => setFormat(e.target.value)} options={FORMATS.map((f) => ({ value: f, label: f }))} error={s.errorFor('format')} />
        {progress !== undefined ? <ProgressBar label={`Uploading ${file?.name ?? ''}`} value={progress} /> : null}
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button
            onClick={() => {
              abort.current?.abort();
              onClose();
            }}
          >
            Cancel
          </Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Upload
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** Images this project can use: its own, shared and public ones. */
export function Images() {
  useTitle('Images');
  const api = useApi();
  const { session } = useSession();
  const refresh = useRefresh();
  const { whyNot, isAdmin } = useAccess();
  const images = useImages();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  if (!api.has('image')) {
    return (
      <section>
        <h1>Images</h1>
        <p>This cloud has no image service in its catalog yet.</p>
      </section>
    );
  }
  const remove = (i: Image) => {
    if (!window.confirm(`Delete image ${i.name ?? i.id}?`)) return;
    setError(undefined);
    api
      .delete('image', `/images/${i.id}`)
      .then(() => refresh('images'))
      .catch((err: unknown) => setError(`${i.name ?? i.id}: ${errorMessage(err)}`));
  };
  const mayDelete = (i: Image) => whyNot ?? (i.owner !== session?.project.id && !isAdmin ? 'Only its owner (or an admin) deletes this image.' : undefined);
  return (
    <section>
      <div className="page-head">
        <h1>Images</h1>
        <Button variant="primary" disabledReason={whyNot} onClick={() => setOpen(true)}>
          Upload image
        </Button>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {images.isPending ? <Loading what="images" /> : null}
      <ErrorText error={images.error} />
      {images.data?.length === 0 ? <Empty title="No images yet.">Upload a qcow2 or raw disk image to launch instances from it.</Empty> : null}
      {images.data?.length ? (
        <table className="table">
          <caption className="sr-only">Images</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Format</th>
              <th scope="col">Size</th>
              <th scope="col">Visibility</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {images.data.map((i) => (
              <tr key={i.id} data-image={i.name}>
                <td>{i.name ?? <code>{i.id}</code>}</td>
                <td>
                  <Status value={i.status} />
                </td>
                <td>{i.disk_format ?? '—'}</td>
                <td>{formatBytes(i.size)}</td>
                <td>{i.visibility}</td>
                <td>
                  <Button variant="danger" disabledReason={mayDelete(i)} onClick={() => remove(i)} aria-label={`Delete image ${i.name ?? i.id}`}>
                    Delete
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <UploadDialog open={open} onClose={() => setOpen(false)} />
    </section>
  );
}
