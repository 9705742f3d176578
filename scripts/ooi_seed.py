#!/usr/bin/env python3
"""Runs the seed notebook's own cells (shared/seeds/003: OOI M2M request + status.txt polling)
and then thredds_crawler over the request's catalog, against the OOI simulator that
`onc-hydro sim serve` serves under /ooi/. Only the base URL and the credentials differ from the
notebook. Every crawled NetCDF file is then downloaded and opened with xarray (time, the stream's
variables, the deployment attributes).

Usage: python3 scripts/ooi_seed.py [path/to/onc-hydro]     (default: target/debug/onc-hydro)
Needs: pip install requests thredds_crawler xarray scipy
"""
import io
import subprocess
import sys
import time

import requests
import xarray as xr
from thredds_crawler.crawl import Crawl

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/debug/onc-hydro"
server = subprocess.Popen([BIN, "sim", "serve", "--time-scale", "0.01"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    base = server.stdout.readline().strip()          # e.g. http://127.0.0.1:40123/
    assert base.startswith("http://127.0.0.1:"), base
    started = time.time()

    # --- the seed's cells, unchanged but for the base URL and the credentials ---------------
    USERNAME = 'OOIAPI-SIMULATOR00'
    TOKEN = 'TEMP-TOKEN-SIMULATOR'
    DATA_API_BASE_URL = base + 'ooi/api/m2m/12576/sensor/inv/'

    data_request_url = DATA_API_BASE_URL+\
                        'RS03CCAL/'+\
                        'MJ03F/'+\
                        '05-BOTPTA301/'+\
                        'streamed/'+\
                        'botpt_nano_sample'+'?'+\
                        'beginDT=2012-01-01T01:01:01.000Z'

    r = requests.get(data_request_url, auth=(USERNAME, TOKEN))
    data = r.json()

    print(data['allURLs'][0])
    print(data['allURLs'][1])

    check_complete = data['allURLs'][1] + '/status.txt'
    for i in range(100000):
        r = requests.get(check_complete)
        if r.status_code == requests.codes.ok:
            print('request completed')
            break
        else:
            time.sleep(.5)
    # --- end of the seed's cells -------------------------------------------------------------

    c = Crawl(data['allURLs'][0].replace('.html', '.xml'))
    nc = [d for d in c.datasets if d.name.endswith('.nc')]
    print(f"thredds_crawler: {len(c.datasets)} datasets, {len(nc)} NetCDF")
    assert len(nc) >= 3 and len(c.datasets) == len(nc) + 2, [d.name for d in c.datasets]
    rows = 0
    for d in nc:
        url = next(s['url'] for s in d.services if s['service'] == 'HTTPServer')
        body = requests.get(url)
        body.raise_for_status()
        ds = xr.open_dataset(io.BytesIO(body.content))
        assert 'time' in ds and 'bottom_pressure' in ds and 'deployment' in ds, list(ds.variables)
        assert ds.attrs['stream'] == 'botpt_nano_sample' and 'deployment_start' in ds.attrs
        assert str(ds['time'].values.dtype).startswith('datetime64'), ds['time'].values.dtype
        rows += ds.sizes['obs']
    print(f"xarray opened {len(nc)} files, {rows} rows, "
          f"{time.time() - started:.1f} s from request to the last file")
    bad = requests.get(data_request_url, auth=(USERNAME, 'wrong'))
    assert bad.status_code == 401, bad.status_code
    print("wrong token: HTTP 401")
finally:
    server.terminate()
    server.wait()
