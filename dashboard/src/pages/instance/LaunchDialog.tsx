import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useApi } from '../../api/session';
import { useFlavors, useImages, useKeypairs, useNetworks, useRefresh, useSecurityGroups } from '../../api/queries';
import { Button, Checkbox, Select, TextArea, TextInput } from '../../ui/controls';
import { Dialog } from '../../ui/dialog';
import { useSubmit } from '../../ui/form';

/** UTF-8 text to base64, as Nova wants user_data. */
function toBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * The launch form with the defaults that give a working VM at once: the
 * tiny image (cirros), the smallest flavor (m1.nano), the project's private
 * network, the user's only key, and the default security group.
 */
export function LaunchDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const images = useImages();
  const flavors = useFlavors();
  const networks = useNetworks();
  const keypairs = useKeypairs();
  const groups = useSecurityGroups();

  const [name, setName] = useState('');
  const [image, setImage] = useState('');
  const [flavor, setFlavor] = useState('');
  const [network, setNetwork] = useState('');
  const [key, setKey] = useState('');
  const [sgs, setSgs] = useState<string[] | undefined>(undefined);
  const [userData, setUserData] = useState('');
  const s = useSubmit({
    name: ['name'],
    image: ['image'],
    flavor: ['flavor', 'ram', 'disk'],
    network: ['network', 'port', 'address'],
    key: ['key pair', 'keypair', 'key_name'],
    groups: ['security group'],
    userData: ['user_data', 'user data'],
  });

  const bootable = useMemo(() => (images.data ?? []).filter((i) => i.status === 'active'), [images.data]);
  const tenantNets = useMemo(() => (networks.data ?? []).filter((n) => !n['router:external']), [networks.data]);
  const sortedFlavors = useMemo(() => [...(flavors.data ?? [])].sort((a, b) => a.ram - b.ram || a.vcpus - b.vcpus), [flavors.data]);

  // Defaults arrive with the lists; set each once, never over the user's choice.
  useEffect(() => {
    if (!image && bootable.length) setImage((bootable.find((i) => i.name === 'cirros') ?? bootable[0])?.id ?? '');
  }, [bootable, image]);
  useEffect(() => {
    if (!flavor && sortedFlavors.length) setFlavor((sortedFlavors.find((f) => f.name === 'm1.nano') ?? sortedFlavors[0])?.id ?? '');
  }, [sortedFlavors, flavor]);
  useEffect(() => {
    if (!network && tenantNets.length) setNetwork((tenantNets.find((n) => n.name === 'private') ?? tenantNets[0])?.id ?? '');
  }, [tenantNets, network]);
  useEffect(() => {
    if (!key && keypairs.data?.length === 1) setKey(keypairs.data[0]?.name ?? '');
  }, [keypairs.data, key]);
  useEffect(() => {
    if (sgs === undefined && groups.data) setSgs(groups.data.some((g) => g.name === 'default') ? ['default'] : []);
  }, [groups.data, sgs]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return s.fail('Give the instance a name.', 'name');
    if (!image) return s.fail('Pick an image (upload one on the Images page if the list is empty).', 'image');
    if (!flavor) return s.fail('Pick a flavor.', 'flavor');
    const server: Record<string, unknown> = {
      name: name.trim(),
      imageRef: image,
      flavorRef: flavor,
      networks: network ? [{ uuid: network }] : 'none',
    };
    if (key) server['key_name'] = key;
    if (sgs && sgs.length) server['security_groups'] = sgs.map((g) => ({ name: g }));
    if (userData) server['user_data'] = toBase64(userData);
    void s
      .run(async () => {
        await api.post('compute', '/servers', { server });
        await refresh('servers', 'limits', 'ports');
      })
      .then((ok) => {
        if (ok) {
          setName('');
          setUserData('');
          onClose();
        }
      });
  };

  return (
    <Dialog title="Launch an instance" open={open} onClose={onClose} wide>
      <form onSubmit={submit} className="form-grid">
        <TextInput label="Name" value={name} onChange={(e) => setName(e.target.value)} required error={s.errorFor('name')} autoFocus />
        <Select
          label="Image"
          value={image}
          onChange={(e) => setImage(e.target.value)}
          options={bootable.map((i) => ({ value: i.id, label: i.name ?? i.id }))}
          error={s.errorFor('image')}
          hint={bootable.length ? undefined : 'No active image: upload one on the Images page.'}
        />
        <Select
          label="Flavor"
          value={flavor}
          onChange={(e) => setFlavor(e.target.value)}
          options={sortedFlavors.map((f) => ({ value: f.id, label: `${f.name} (${f.vcpus} vCPU, ${f.ram} MB RAM, ${f.disk} GB disk)` }))}
          error={s.errorFor('flavor')}
        />
        <Select
          label="Network"
          value={network}
          onChange={(e) => setNetwork(e.target.value)}
          options={[...tenantNets.map((n) => ({ value: n.id, label: n.name || n.id })), { value: '', label: 'No network' }]}
          error={s.errorFor('network')}
        />
        <Select
          label="Key pair"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          options={[{ value: '', label: 'No key (console login only)' }, ...(keypairs.data ?? []).map((k) => ({ value: k.name, label: k.name }))]}
          error={s.errorFor('key')}
        />
        <fieldset className="field">
          <legend>Security groups</legend>
          {(groups.data ?? []).map((g) => (
            <Checkbox
              key={g.id}
              label={g.name}
              checked={sgs?.includes(g.name) ?? false}
              onChange={(e) => setSgs((cur) => (e.target.checked ? [...(cur ?? []), g.name] : (cur ?? []).filter((x) => x !== g.name)))}
            />
          ))}
          {s.errorFor('groups') ? (
            <div className="field-error" role="alert">
              {s.errorFor('groups')}
            </div>
          ) : null}
        </fieldset>
        <TextArea
          label="User data"
          value={userData}
          onChange={(e) => setUserData(e.target.value)}
          rows={4}
          placeholder={'#!/bin/sh\necho hello'}
          hint="A script or cloud-config the instance runs at first boot."
          error={s.errorFor('userData')}
        />
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Launch
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
