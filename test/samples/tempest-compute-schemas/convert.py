#!/usr/bin/env python3
"""Turns tempest's compute response schemas (Python dicts) into JSON data.

Usage: convert.py <dist-packages dir holding tempest/> <out dir>

Get the input with:
  apt-get download python3-tempest && dpkg-deb -x python3-tempest_*.deb /tmp/tempest
  convert.py /tmp/tempest/usr/lib/python3/dist-packages test/samples/tempest-compute-schemas

Writes <out>/<vX_Y>/<module>.json ({schema name: {status_code, response_body,
...}}) and <out>/clients.json, which says for each tempest service client
which schema module it uses for which microversion range (read from the
client's source with ast, since importing the clients needs oslo).
"""
import ast
import importlib
import json
import os
import sys


def main(src: str, out: str) -> None:
    sys.path.insert(0, src)
    base = os.path.join(src, 'tempest', 'lib', 'api_schema', 'response', 'compute')
    for vdir in sorted(os.listdir(base)):
        full = os.path.join(base, vdir)
        if not os.path.isdir(full) or not vdir.startswith('v2_'):
            continue
        for f in sorted(os.listdir(full)):
            if not f.endswith('.py') or f == '__init__.py':
                continue
            mod = importlib.import_module(f'tempest.lib.api_schema.response.compute.{vdir}.{f[:-3]}')
            schemas = {k: v for k, v in vars(mod).items() if isinstance(v, dict) and 'status_code' in v}
            if not schemas:
                continue
            os.makedirs(os.path.join(out, vdir), exist_ok=True)
            with open(os.path.join(out, vdir, f[:-3] + '.json'), 'w') as fh:
                json.dump(schemas, fh, sort_keys=True, separators=(',', ':'))
                fh.write('\n')

    clients = {}
    cdir = os.path.join(src, 'tempest', 'lib', 'services', 'compute')
    for f in sorted(os.listdir(cdir)):
        if not f.endswith('_client.py'):
            continue
        tree = ast.parse(open(os.path.join(cdir, f)).read())
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and '.api_schema.response.compute.' in node.module:
                vdir = node.module.rsplit('.', 1)[1]
                for n in node.names:
                    aliases[n.asname or n.name] = f'{vdir}/{n.name}'
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == 'schema_versions_info' for t in node.targets):
                ranges = []
                for d in node.value.elts:
                    entry = {}
                    for k, v in zip(d.keys, d.values):
                        key = k.value
                        if key == 'schema':
                            entry['module'] = aliases[v.id]
                        else:
                            entry[key] = v.value
                    ranges.append(entry)
                clients[f[:-3]] = ranges
        if f[:-3] not in clients:
            mods = sorted(set(aliases.values()))
            if mods:
                clients[f[:-3]] = [{'min': None, 'max': None, 'module': m} for m in mods]
    with open(os.path.join(out, 'clients.json'), 'w') as fh:
        json.dump(clients, fh, indent=1, sort_keys=True)
        fh.write('\n')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
