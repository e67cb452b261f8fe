#!/usr/bin/python3
"""bench/report.py - turns bench/bench.sh's records into the benchmark
report: a table on stdout, PREFIX.json (every figure, every trial) and
PREFIX.md (the same tables in Markdown for the README).

    bench/report.py RECORDS.jsonl PREFIX

Medians over repeats throughout; targets print PASS or FAIL with the
measured ratio, and a target whose figure is missing is a FAIL, never a
silent pass. Exits 0 whatever the targets say (a benchmark reports, the
tests judge).
"""
import json
import math
import statistics
import sys

TOOL_LABEL = {
    'pktstat': 'pktstat tpacket3, 1 thread',
    'pktstat-t2': 'pktstat tpacket3, 2 threads',
    'pktstat-pcap': 'pktstat pcap backend',
    'pktstat-ebpf': 'pktstat ebpf backend (tc)',
    'tcpdump': 'tcpdump -w /dev/null',
    'netsniff': 'netsniff-ng -o /dev/null',
    'tshark': 'tshark -w /dev/null',
    'opktstat': 'pktstat 1.8.5 (Debian)',
    'iftop': 'iftop -t (~: from bytes)',
    'pktstat-ui': 'pktstat full-screen UI, -w 0.1, 200x60',
    'none': 'nothing capturing (the generator alone)',
    'pktstat-ebpf-st': 'pktstat ebpf backend, programs timed',
    'pktstat-2m': 'pktstat tpacket3, 2 MB ring',
    'pktstat-ebpf-2m': 'pktstat ebpf backend, 1 MB of flow tables',
    'mapref': 'reference: a minimal per-flow map in tc (no tool)',
}
PKTSTATS = ('pktstat', 'pktstat-t2', 'pktstat-pcap', 'pktstat-ebpf')


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def num(r, k):
    """A record's figure, None when absent or reported as -1."""
    v = r.get(k)
    if v is None or v == -1 or isinstance(v, str):
        return None
    return v


def fmt(v, spec='{:,.0f}', none='-'):
    return none if v is None else spec.format(v)


def fmt_ratio(v):
    """Four decimals, never rounded onto 1.0000 unless exactly 1: one
    packet missing out of a million must not print as exact."""
    if v is None:
        return '-'
    if v == 1:
        return '1.0000'
    q = math.floor(v * 10000) if v < 1 else math.ceil(v * 10000)
    return '%d.%04d' % (q // 10000, q % 10000)


class Report:
    def __init__(self, records):
        self.meta = {}
        self.config = {}
        self.workloads = {}
        self.live = []
        self.offline = []
        self.pcaps = {}
        self.callgrind = []
        self.uiframes = []
        self.histmem = []
        self.freshmem = []
        self.end = {}
        self.idle = {}
        for r in records:
            t = r.get('type')
            if t == 'meta':
                self.meta = r
            elif t == 'config':
                self.config = r
            elif t == 'workload':
                self.workloads[r['id']] = r
            elif t == 'live':
                self.live.append(r)
            elif t == 'offline':
                self.offline.append(r)
            elif t == 'pcap':
                self.pcaps[r['flows']] = r
            elif t == 'callgrind':
                self.callgrind.append(r)
            elif t == 'uiframe':
                self.uiframes.append(r)
            elif t == 'histmem':
                self.histmem.append(r)
            elif t == 'freshmem':
                self.freshmem.append(r)
            elif t == 'idle':
                self.idle[r['tool']] = r
            elif t == 'end':
                self.end = r
        self.out = {'machine': self.meta, 'config': self.config,
                    'idle': {},
                    'workloads': self.workloads, 'live': {},
                    'offline': {}, 'callgrind': {}, 'scaling': {},
                    'ui_frame': {}, 'history': {}, 'ebpf': {},
                    'targets': [],
                    'trials': records}
        self.text = []
        self.md = []

    # -- per trial derived figures ------------------------------------
    def counted(self, r):
        """The tool's count; iftop's is derived from its byte total."""
        if r['tool'] == 'iftop':
            b = num(r, 'tool_bytes')
            wl = self.workloads[r['workload']]
            return None if b is None else b / (wl['size'] - 14)
        return num(r, 'counted')

    def cpu_per_mpkt(self, r):
        """CPU seconds per million reference packets."""
        ns, rx = num(r, 'cpu_ns'), num(r, 'rx')
        if ns is None or not rx:
            return None
        return ns / 1e9 / rx * 1e6

    def idle_rate(self, tool):
        """CPU seconds per second the tool used without traffic."""
        r = self.idle.get(tool)
        if not r or 'error' in r or not num(r, 'window_ns'):
            return None
        return num(r, 'cpu_ns') / num(r, 'window_ns')

    def cpu_excl_idle(self, r):
        """CPU seconds per million packets once the tool's idle CPU rate
        over the same window is taken out."""
        rate, ns = self.idle_rate(r['tool']), num(r, 'cpu_ns')
        rx, win = num(r, 'rx'), num(r, 'window_ns')
        if rate is None or ns is None or not rx or not win:
            return None
        return max(ns - rate * win, 0) / 1e9 / rx * 1e6

    def trials(self, wl, tool):
        return [r for r in self.live
                if r['workload'] == wl and r['tool'] == tool
                and 'error' not in r]

    def live_row(self, wl, tool):
        ts = self.trials(wl, tool)
        errs = [r['error'] for r in self.live
                if r['workload'] == wl and r['tool'] == tool
                and 'error' in r]
        if not ts and not errs:
            return None
        ratios = []
        for r in ts:
            c, rx = self.counted(r), num(r, 'rx')
            ratios.append(None if c is None or not rx else c / rx)
        row = {
            'tool': tool, 'repeats': len(ts),
            'gen_pps': med([num(r, 'gen_pps') for r in ts]),
            'sent': med([num(r, 'gen_sent') for r in ts]),
            'rx': med([num(r, 'rx') for r in ts]),
            'counted': med([self.counted(r) for r in ts]),
            'ratio': med(ratios),
            'ratio_min': min([x for x in ratios if x is not None],
                             default=None),
            'ratios': ratios,
            'drops': med([num(r, 'drops') for r in ts]),
            'drops_all': [num(r, 'drops') for r in ts],
            'cpu_s_per_mpkt': med([self.cpu_per_mpkt(r) for r in ts]),
            'cpu_s_per_mpkt_excl_idle': med([self.cpu_excl_idle(r)
                                             for r in ts]),
            'maxrss_kb': med([num(r, 'maxrss_kb') for r in ts]),
            'rss_kb_after_traffic': med([num(r, 'rss_kb') for r in ts]),
            'flows_seen': med([num(r, 'flows') for r in ts]),
            'stop_ms': med([num(r, 'stop_us') / 1000
                            if num(r, 'stop_us') is not None else None
                            for r in ts]),
            'stop_ms_max': max([num(r, 'stop_us') / 1000 for r in ts
                                if num(r, 'stop_us') is not None],
                               default=None),
            'snapshots_ok': [r.get('snapshot_ok') for r in ts],
            'sent_equals_rx': all(num(r, 'gen_sent') == num(r, 'rx')
                                  for r in ts),
            'timed_out': sum(1 for r in ts if r.get('timed_out') == 1),
            'early_exit': sum(1 for r in ts if r.get('early_exit') == 1),
            'ui_flows_all': [num(r, 'ui_flows') for r in ts],
            'overflow': med([num(r, 'overflow') for r in ts]),
            'bpf_ns_per_run': med([num(r, 'bpf_run_ns') / num(r, 'bpf_run_cnt')
                                   if num(r, 'bpf_run_cnt') else None
                                   for r in ts]),
        }
        notes = []
        want = self.config.get('repeats')
        if ts and want and len(ts) < want:
            notes.append('%d of %d repeats' % (len(ts), want))
        if row['early_exit']:
            notes.append('exited early x%d' % row['early_exit'])
        if row['timed_out']:
            notes.append('killed at time limit x%d' % row['timed_out'])
        for e in sorted(set(errs)):
            notes.append('%s x%d' % (e, errs.count(e)))
        bad = [r.get('status') for r in ts if r.get('status') not in (0, None)]
        if bad:
            notes.append('exit status ' + ','.join(str(b) for b in bad))
        if not row['sent_equals_rx'] and tool != 'iftop':
            notes.append('sent != rx')
        if tool == 'opktstat' and (row['flows_seen'] or 0) >= 1024 and \
                self.workloads[wl]['flows'] > 1024:
            notes.append('lists 1024 flows at most')
        if tool == 'pktstat-ui' and ts:
            notes.append('UI showed %s flows' % ', '.join(
                fmt(x) for x in row['ui_flows_all']))
        row['notes'] = notes
        return row

    # -- output helpers -----------------------------------------------
    def table(self, title, head, rows, note=None, left=1):
        """One table into the text and Markdown outputs; the first
        `left` columns are text (left-aligned), the others numbers."""
        self.text.append('')
        self.text.append(title)
        widths = [max(len(str(x)) for x in col)
                  for col in zip(head, *rows)] if rows else \
            [len(h) for h in head]
        lefts = [i < left or h == 'notes' for i, h in enumerate(head)]
        line = '  '.join(('{:<%d}' if lefts[i] else '{:>%d}') % w
                         for i, w in enumerate(widths))
        self.text.append(line.format(*head))
        self.text.append('  '.join('-' * w for w in widths))
        for r in rows:
            self.text.append(line.format(*r))
        self.md.append('')
        self.md.append('**' + title + '**')
        self.md.append('')
        self.md.append('| ' + ' | '.join(head) + ' |')
        self.md.append('|' + '|'.join(
            ':--' if lefts[i] else '--:' for i in range(len(head))) + '|')
        for r in rows:
            self.md.append('| ' + ' | '.join(str(x) for x in r) + ' |')
        if note:
            self.text.append(note)
            self.md.append('')
            self.md.append(note)

    def target(self, name, ok, measured, detail=''):
        verdict = 'PASS' if ok else 'FAIL'
        self.out['targets'].append({'target': name, 'pass': bool(ok),
                                    'measured': measured,
                                    'detail': detail})
        return verdict

    # -- sections -------------------------------------------------------
    def section_live(self):
        tools = self.config.get('tools', '').split()
        for wl in self.config.get('workloads', '').split():
            w = self.workloads[wl]
            rows = []
            data = {}
            for tool in tools:
                row = self.live_row(wl, tool)
                if row:
                    data[tool] = row
            base = data.get('tcpdump', {}).get('cpu_s_per_mpkt')
            for tool, row in data.items():
                c = row['cpu_s_per_mpkt']
                row['cpu_vs_tcpdump'] = (c / base if c is not None and base
                                         else None)
                approx = '~' if tool == 'iftop' else ''
                rows.append([
                    TOOL_LABEL.get(tool, tool),
                    fmt(row['gen_pps']),
                    fmt(row['sent']),
                    fmt(row['rx']),
                    approx + fmt(row['counted']),
                    approx + fmt_ratio(row['ratio']),
                    fmt(row['drops']),
                    fmt(row['cpu_s_per_mpkt'], '{:.3f}'),
                    fmt(row['cpu_vs_tcpdump'], '{:.2f}'),
                    fmt(row['cpu_s_per_mpkt_excl_idle'], '{:.3f}'),
                    fmt(row['maxrss_kb'] and row['maxrss_kb'] / 1024,
                        '{:.1f}'),
                    '; '.join(row['notes']),
                ])
            self.out['live'][wl] = data
            rate = ('generator max' if w['rate'] == 0
                    else '{:,} pps'.format(w['rate']))
            frames = ('IPv4/IPv6/802.1Q TCP/UDP/ICMP mix, 60-78 bytes'
                      if w['mix'] == 'mix' else
                      'IPv4 UDP, %d bytes' % w['size'])
            title = ('Live %s: %s, %s flows, %s, %s packets (medians of %s)'
                     % (wl, frames, '{:,}'.format(w['flows']), rate,
                        '{:,}'.format(w['count']),
                        self.config.get('repeats')))
            self.table(title, ['tool', 'pps sent', 'sent', 'rx (ref)',
                               'counted', 'counted/rx', 'kernel drops',
                               'CPU s/Mpkt', 'CPU vs tcpdump',
                               'excl. idle', 'max RSS MB', 'notes'], rows)

    def section_ebpf(self):
        """The ebpf part: per workload, each tool's generator rate
        (against the generator alone and against tcpdump), exactness,
        tool CPU per packet against tcpdump's, BPF time per packet."""
        rows = []
        for wl in self.config.get('ebpf_workloads', '').split():
            w = self.workloads.get(wl)
            if not w:
                continue
            data = {}
            for tool in w.get('tools', '').split():
                row = self.live_row(wl, tool)
                if row:
                    data[tool] = row
            none = data.get('none', {}).get('gen_pps')
            td = data.get('tcpdump', {})
            for tool, row in data.items():
                g, c = row['gen_pps'], row['cpu_s_per_mpkt']
                row['gen_vs_none'] = g / none if g and none else None
                row['gen_vs_tcpdump'] = (g / td['gen_pps'] if g and
                                         td.get('gen_pps') else None)
                row['cpu_vs_tcpdump'] = (c / td['cpu_s_per_mpkt']
                                         if c is not None and
                                         td.get('cpu_s_per_mpkt') else None)
                counted = '-' if tool == 'none' else fmt_ratio(row['ratio'])
                rows.append([
                    wl, TOOL_LABEL.get(tool, tool),
                    '{:,}'.format(w['flows']),
                    str(w.get('gens', 1)),
                    fmt(g), fmt(row['gen_vs_none'], '{:.2f}'),
                    fmt(row['gen_vs_tcpdump'], '{:.2f}'),
                    fmt(row['rx']), counted,
                    fmt(row['drops']), fmt(row['overflow']),
                    fmt(c and c * 1000, '{:.0f}'),
                    fmt(row['cpu_vs_tcpdump'], '{:.2f}'),
                    fmt(row['bpf_ns_per_run'], '{:.0f}'),
                    '; '.join(row['notes'])])
            self.out['ebpf'][wl] = data
        if rows:
            self.table('eBPF backend: 60-78 B mixed frames, generator(s) '
                       'at their maximum (medians of %s)' %
                       self.config.get('repeats'),
                       ['workload', 'tool', 'flows', 'generators',
                        'pps sent', 'vs none', 'vs tcpdump', 'rx (ref)',
                        'counted/rx', 'kernel drops', 'overflow',
                        'tool CPU ns/pkt', 'CPU vs tcpdump',
                        'BPF ns/pkt', 'notes'], rows,
                       'pps sent: the generator\'s rate with the tool '
                       'attached (over a veth the receive path, ring copy '
                       'or BPF program, runs on the sender\'s core); vs '
                       'none: against the generator alone; tool CPU: the '
                       'tool\'s own threads (the kernel path is not in '
                       'it); BPF ns/pkt: run_time_ns / run_cnt of the tc '
                       'program with kernel.bpf_stats_enabled=1, tail '
                       'calls included (trial "programs timed" only: the '
                       'timing costs two clock reads a packet); overflow: '
                       'packets counted in the protocol totals whose flow '
                       'found the kernel map (ebpf) or table full. '
                       'Reference (mapref): no tool, bench/mapref.bpf.c on '
                       'veth0\'s ingress, the least a tc program can do to '
                       'count flows in a map (pktstat-bpf\'s per-CPU LRU '
                       'hash, no filter, no exactness); counted: the '
                       'frames it put in its map. '
                       'D1: four generators at once, a 2 MB ring against '
                       'flow tables of %s slots (1 MB for both).%s' %
                       (fmt(self.config.get('ebpf_2m_flows')),
                        self.freshmem_note()), left=2)

    @staticmethod
    def mapref_detail(d):
        """The reference map's generator rate against tcpdump's, for a
        generator target's detail ('' when not measured)."""
        m = d.get('mapref') or {}
        r = m.get('gen_vs_tcpdump')
        if not m.get('gen_pps') or r is None:
            return ''
        return '; minimal per-flow map (mapref) %s pps, %.2fx' % (
            fmt(m['gen_pps']), r)

    def freshmem_ns(self):
        """bench/freshmem's repeats: (median fresh ns a 128-byte slot,
        median resident ns, the fresh figures sorted), or None."""
        fr = sorted(x for r in self.freshmem
                    for x in [num(r, 'fresh_ns')] if x is not None)
        rs = [num(r, 'resident_ns') for r in self.freshmem]
        if not fr or med(rs) is None:
            return None
        return med(fr), med(rs), fr

    def freshmem_note(self):
        m = self.freshmem_ns()
        self.out['freshmem'] = m and {'fresh_ns': m[0], 'resident_ns': m[1]}
        if not m:
            return ''
        return (' Memory new to a process costs here %.0f ns of CPU a '
                '128-byte flow slot (median of %d: %s; %.0f ns once '
                'resident; bench/freshmem): in E2 every packet is a '
                'new flow, and a new slot in the tool\'s table.' %
                (m[0], len(m[2]), ', '.join('%.0f' % x for x in m[2]),
                 m[1]))

    def section_idle(self):
        rows = []
        for tool in self.config.get('tools', '').split():
            r = self.idle.get(tool)
            if not r:
                continue
            rate = self.idle_rate(tool)
            d = {'cpu_percent': rate * 100 if rate is not None else None,
                 'rss_kb': num(r, 'rss_kb'), 'error': r.get('error')}
            self.out['idle'][tool] = d
            rows.append([TOOL_LABEL.get(tool, tool),
                         fmt(d['cpu_percent'], '{:.1f}'),
                         fmt(d['rss_kb'] and d['rss_kb'] / 1024, '{:.1f}'),
                         r.get('error', '')])
        if rows:
            self.table('Idle: capturing on veth0 for 2 s without traffic',
                       ['tool', 'CPU % of a core', 'RSS MB', 'notes'], rows,
                       '"excl. idle" in the live tables: CPU per packet '
                       'once this idle rate over the same window is taken '
                       'out (periodic work versus per-packet work).')

    def section_offline(self):
        files = sorted({r['flows'] for r in self.offline})
        for f in files:
            rows = []
            data = {}
            for tool in ('pktstat', 'tcpdump', 'tshark'):
                ts = [r for r in self.offline
                      if r['flows'] == f and r['tool'] == tool
                      and 'error' not in r]
                errs = [r['error'] for r in self.offline
                        if r['flows'] == f and r['tool'] == tool
                        and 'error' in r]
                if errs:
                    rows.append([tool] + [''] * 6 + ['%s x%d' % (
                        errs[0], len(errs))])
                if not ts:
                    continue
                wall = med([num(r, 'wall_ns') for r in ts])
                pk = ts[0]['packets']
                cpu = med([(num(r, 'utime_us') or 0) +
                           (num(r, 'stime_us') or 0) for r in ts])
                data[tool] = {
                    'wall_s': wall / 1e9 if wall else None,
                    'pps': pk / (wall / 1e9) if wall else None,
                    'cpu_s': cpu / 1e6 if cpu is not None else None,
                    'maxrss_kb': med([num(r, 'maxrss_kb') for r in ts]),
                    'status': [r.get('status') for r in ts],
                    'counted': med([num(r, 'counted') for r in ts]),
                    'packets': pk,
                }
            p = data.get('pktstat', {}).get('pps')
            for tool, d in data.items():
                d['pktstat_speedup'] = (p / d['pps'] if p and d['pps']
                                        else None)
                rows.append([TOOL_LABEL.get(tool, tool).split(' ')[0] +
                             {'pktstat': ' -r -j', 'tcpdump':
                              ' -r -w /dev/null', 'tshark':
                              ' -r -q -z conv,ip'}[tool],
                             fmt(d['wall_s'], '{:.3f}'),
                             fmt(d['pps']),
                             fmt(d['pktstat_speedup'], '{:.2f}'),
                             fmt(d['cpu_s'], '{:.3f}'),
                             fmt(d['maxrss_kb'] and d['maxrss_kb'] / 1024,
                                 '{:.1f}'),
                             fmt(d['counted']),
                             ','.join(str(s) for s in d['status'])])
            self.out['offline'][f] = data
            pk = self.pcaps.get(f, {}).get('packets')
            self.table('Offline: pcap of %s packets, mixed frames, %s flows '
                       '(medians)' % (fmt(pk), '{:,}'.format(f)),
                       ['tool', 'wall s', 'packets/s',
                        'pktstat speed-up', 'CPU s', 'max RSS MB',
                        'packets in report', 'exit status'], rows)

    def section_callgrind(self):
        rows = []
        for r in self.callgrind:
            pk = r['packets']
            if 'error' in r:
                rows.append(['pktstat -r, %s packets, %s flows' %
                             (fmt(pk), '{:,}'.format(r['flows'])),
                             r['error'], '', '', '', ''])
                continue
            tot, dec, ft, rep = (num(r, 'total'), num(r, 'decode'),
                                 num(r, 'flowtab'), num(r, 'report'))
            d = {'packets': pk, 'status': r.get('status'),
                 'total_per_pkt': tot / pk if tot is not None else None,
                 'decode_per_pkt': dec / pk if dec is not None else None,
                 'flowtab_per_pkt': ft / pk if ft is not None else None,
                 'report_per_pkt': rep / pk if rep is not None else None}
            d['rest_per_pkt'] = (
                (tot - (dec or 0) - (ft or 0) - (rep or 0)) / pk
                if tot is not None else None)
            self.out['callgrind'][r['flows']] = d
            rows.append(['pktstat -r, %s packets, %s flows' %
                         (fmt(pk), '{:,}'.format(r['flows'])),
                         fmt(d['total_per_pkt']),
                         fmt(d['decode_per_pkt']),
                         fmt(d['flowtab_per_pkt']),
                         fmt(d['report_per_pkt']),
                         fmt(d['rest_per_pkt'])])
        if rows:
            self.table('Instructions per packet (callgrind, inclusive)',
                       ['run', 'total', 'decode_frame',
                        'flowtab_account', 'report_write', 'rest'], rows,
                       'decode: decode_frame and children; flow lookup and '
                       'update: flowtab_account and children; '
                       'report_write: the -j report of every flow, spread '
                       'over the packets; rest: start-up, file reading, '
                       'other threads, exit.')

    def rss_per_flow(self, wl, tool='pktstat'):
        """(RSS after traffic with N flows - with 1 flow) / N, medians."""
        hi = self.out['live'].get(wl, {}).get(tool)
        lo = self.out['live'].get('L1', {}).get(tool)
        if not hi or not lo:
            return None, None
        n = hi['flows_seen']
        if not n or hi['rss_kb_after_traffic'] is None or \
                lo['rss_kb_after_traffic'] is None:
            return None, n
        return ((hi['rss_kb_after_traffic'] - lo['rss_kb_after_traffic'])
                * 1024 / n, n)

    def section_scaling(self):
        rows = []
        sc = self.out['scaling']
        for tool in PKTSTATS:
            for wl, label in (('L2', '1k'), ('L3', '100k'), ('L4', '1M')):
                row = self.out['live'].get(wl, {}).get(tool)
                if not row:
                    continue
                sc.setdefault(tool, {})['cpu_s_per_mpkt_' + label] = \
                    row['cpu_s_per_mpkt']
                rows.append([TOOL_LABEL[tool],
                             'capture CPU per packet, %s flows (%s)' %
                             (label, wl),
                             fmt(row['cpu_s_per_mpkt'] and
                                 row['cpu_s_per_mpkt'] * 1000, '{:.0f} ns')])
            for wl, label in (('L3', '100k'), ('L4', '1M')):
                b, n = self.rss_per_flow(wl, tool)
                if n is None and b is None:
                    continue
                sc.setdefault(tool, {})['rss_bytes_per_flow_' + label] = b
                rows.append([TOOL_LABEL[tool],
                             'resident bytes per flow, %s flows (%s; %s '
                             'flows in table)' % (label, wl, fmt(n)),
                             fmt(b, '{:.0f} B')])
        self.table('Scaling', ['what', 'measure', 'value'], rows,
                   'RSS per flow: resident set after the traffic with N '
                   'flows minus with 1 flow (L1), divided by the flows '
                   'in the table.', left=3)

    def section_ui(self):
        """bench/uiframe: UI-thread CPU per refresh, per flows and order."""
        rows = []
        ms = (lambda r, k: num(r, k) / 1000 if num(r, k) is not None
              else None)
        for r in sorted(self.uiframes, key=lambda r: (r['flows'],
                                                       r.get('frozen', 0))):
            order = 'frozen (o)' if r.get('frozen') == 1 else 'sorted'
            if 'error' in r:
                rows.append(['{:,}'.format(r['flows']), '-'] +
                            [''] * 10 + [r['error']])
                continue
            d = {k: ms(r, k + '_us') for k in (
                'frame_med', 'frame_p90', 'frame_max', 'first', 'copy',
                'update', 'layout', 'draw', 'expire')}
            d.update(frames=r.get('frames'), rows=r.get('rows'),
                     status=r.get('status'))
            self.out['ui_frame'].setdefault(r['flows'], {})[
                'frozen' if r.get('frozen') == 1 else 'sorted'] = d
            f2 = '{:.1f}'
            rows.append(['{:,}'.format(r['flows']), order,
                         fmt(d['frames']), fmt(d['frame_med'], f2),
                         fmt(d['frame_p90'], f2), fmt(d['frame_max'], f2),
                         fmt(d['copy'], f2), fmt(d['update'], f2),
                         fmt(d['layout'], f2), fmt(d['draw'], f2),
                         fmt(d['expire'], f2), fmt(d['first'], f2),
                         '' if d['status'] in (0, None) else
                         'exit status %s' % d['status']])
        if rows:
            self.table('UI frame cost: UI-thread CPU per refresh, ms '
                       '(bench/uiframe, 200x60 terminal)',
                       ['flows', 'order', 'frames', 'median', 'p90', 'max',
                        'copy', 'view update', 'layout', 'draw',
                        'expiry (1/s)', 'first frame', 'notes'], rows,
                       'Each refresh as ui/ui.c runs it, with its functions, '
                       'timed with CLOCK_THREAD_CPUTIME_ID: copy = '
                       'flowtab_collect (under the RCU read lock) and '
                       'totals; view update = view_update; layout = '
                       'view_layout (partial sort of the visible rows; '
                       'frozen: none); draw = draw_frame and refresh into a '
                       'pseudo-terminal; expiry = the idle-flow walk, once '
                       'a second (1 frame in 10 at -w 0.1: in p90/max, '
                       'not the median). Phases are medians; first frame: '
                       'the very first refresh (allocations), not in the '
                       'others.', left=2)

    def section_history(self):
        """bench/histmem: the rewind history's memory at 100k flows."""
        rows = []
        for r in sorted(self.histmem, key=lambda r: r.get('pct', 0)):
            if 'error' in r:
                rows.append([fmt(r.get('pct')), '-', '', '', '', '', '', '',
                             r['error']])
                continue
            mb = num(r, 'bytes')
            d = {'bytes': mb, 'held_s': r.get('held_s'),
                 'truncated': r.get('truncated'),
                 'bytes_per_flow_s': num(r, 'bytes_per_flow_s'),
                 'record_ms': num(r, 'record_us') / 1000
                 if num(r, 'record_us') is not None else None,
                 'step_ms': num(r, 'step_us') / 1000
                 if num(r, 'step_us') is not None else None}
            self.out['history'][r.get('pct')] = d
            rows.append([fmt(r.get('pct')), '{:,}'.format(r.get('flows', 0)),
                         fmt(mb / 1e6 if mb is not None else None, '{:.1f}'),
                         fmt(d['held_s']),
                         fmt(d['bytes_per_flow_s'], '{:.1f}'),
                         fmt(d['record_ms'], '{:.1f}'),
                         fmt(d['step_ms'], '{:.1f}'),
                         fmt(num(r, 'rss_kb') / 1e3
                             if num(r, 'rss_kb') is not None else None,
                             '{:.1f}'),
                         'truncated by --history-max' if
                         r.get('truncated') == 1 else ''])
        if rows:
            self.table('Rewind history, --history 10m at 100k flows '
                       '(bench/histmem)',
                       ['% changing a second', 'flows', 'MB', 'seconds held',
                        'bytes / changing flow / s', 'record ms', '[ ms',
                        'RSS MB', 'notes'], rows,
                       'The monitor records one snapshot a second; MB is '
                       'what the history holds (history_bytes), under the '
                       'default --history-max 256M; record = one second\'s '
                       'history_record; [ = one step back 30 s into the '
                       'past (the seconds the table is rebuilt from).',
                       left=1)

    def section_targets(self):
        rows = []

        def add(name, ok, measured, detail=''):
            rows.append([self.target(name, ok, measured, detail), name,
                         measured, detail])

        live = self.out['live']
        # exactness: every repeat counted == rx and no drop
        for wl, label in (('L3', '100k'), ('L4', '1M')):
            for tool in PKTSTATS:
                row = live.get(wl, {}).get(tool)
                name = ('exact at max rate, 60 B, %s mixed flows: %s' %
                        (label, TOOL_LABEL[tool]))
                if tool != 'pktstat':
                    # the other pktstat configurations: shown when run
                    if not row:
                        continue
                    name += ' (info)'
                if not row:
                    add(name, False, 'not measured')
                    continue
                ok = (row['repeats'] > 0 and
                      all(x == 1.0 for x in row['ratios']) and
                      all(d == 0 for d in row['drops_all']))
                add(name, ok, 'counted/rx ' + ', '.join(
                    fmt_ratio(x) for x in row['ratios']),
                    'kernel drops ' + ', '.join(
                        fmt(d) for d in row['drops_all']) +
                    ('; ' + '; '.join(row['notes']) if row['notes'] else ''))
        # the ebpf backend: exact, tool CPU and the generator's rate
        eb = self.out['ebpf']
        m = self.freshmem_ns()
        for wl, label in (('E1', '100k'), ('E2', '1M')):
            d = eb.get(wl)
            if d is None:
                continue
            ts = [r for t in ('pktstat-ebpf', 'pktstat-ebpf-st')
                  for r in [d.get(t)] if r]
            ratios = [x for r in ts for x in r['ratios']]
            drops = [x for r in ts for x in r['drops_all']]
            add('ebpf: every packet counted at max rate, 60 B, %s mixed '
                'flows' % label,
                bool(ratios) and all(x == 1.0 for x in ratios) and
                all(x in (0, None) for x in drops),
                'counted/rx ' + ', '.join(fmt_ratio(x) for x in ratios),
                'overflow (in the totals) %s' % ', '.join(
                    fmt(r['overflow']) for r in ts))
            e, t = d.get('pktstat-ebpf'), d.get('tcpdump')
            r = e and e.get('cpu_vs_tcpdump')
            add('ebpf: tool CPU/packet <= 0.5x tcpdump, %s flows' % label,
                r is not None and r <= 0.5, fmt(r, '{:.2f}x'),
                'ebpf %s vs tcpdump %s ns/packet; tpacket3 %s%s' % (
                    fmt(e and e['cpu_s_per_mpkt'] and
                        e['cpu_s_per_mpkt'] * 1000, '{:.0f}'),
                    fmt(t and t['cpu_s_per_mpkt'] and
                        t['cpu_s_per_mpkt'] * 1000, '{:.0f}'),
                    fmt(d.get('pktstat', {}).get('cpu_s_per_mpkt') and
                        d['pktstat']['cpu_s_per_mpkt'] * 1000, '{:.0f}'),
                    '; fresh memory %.0f ns a new flow\'s slot' % m[0]
                    if m and wl == 'E2' else ''))
            r = e and e.get('gen_vs_tcpdump')
            st = d.get('pktstat-ebpf-st')
            # the generator alone slower than with a tool attached: the
            # machine's noise is larger than the differences measured,
            # and the run does not judge the target
            none = d.get('none', {}).get('gen_pps')
            noisy = not none or any(
                (d.get(x) or {}).get('gen_pps', 0) > none
                for x in ('tcpdump', 'pktstat', 'pktstat-ebpf'))
            add('ebpf: generator max with ebpf >= with tcpdump, %s flows'
                % label, r is not None and r >= 1.0 and not noisy,
                fmt(r, '{:.2f}x') + (' (noisy: the generator alone was '
                                     'slower than with a tool attached)'
                                     if noisy else ''),
                'ebpf %s, tcpdump %s, tpacket3 %s, none %s pps; BPF %s '
                'ns/packet%s' % (
                    fmt(e and e['gen_pps']), fmt(t and t['gen_pps']),
                    fmt(d.get('pktstat', {}).get('gen_pps')),
                    fmt(d.get('none', {}).get('gen_pps')),
                    fmt(st and st['bpf_ns_per_run'], '{:.0f}'),
                    self.mapref_detail(d)))
        d = eb.get('D1')
        if d is not None:
            e, t = d.get('pktstat-ebpf-2m'), d.get('pktstat-2m')
            ok = (e is not None and t is not None and e['repeats'] > 0 and
                  all(x == 1.0 for x in e['ratios']) and
                  (t['drops'] or 0) > 0)
            add('DoS (4 generators at max): ebpf with <= 2 MB of flow tables '
                'exact while tpacket3 with a 2 MB ring reports drops', ok,
                'ebpf counted/rx %s; tpacket3 drops %s' % (
                    e and ', '.join(fmt_ratio(x) for x in e['ratios']),
                    t and ', '.join(fmt(x) for x in t['drops_all'])),
                'ebpf overflow %s; tpacket3 counted/rx %s' % (
                    fmt(e and e['overflow']),
                    t and ', '.join(fmt_ratio(x) for x in t['ratios'])))
        # the capture with the full-screen UI at -w 0.1, 100k flows shown
        row = live.get('U3', {}).get('pktstat-ui')
        name = ('exact at max rate with the UI running (-w 0.1, 100k '
                'flows on screen)')
        if not row:
            add(name, False, 'not measured')
        else:
            ok = (row['repeats'] > 0 and
                  all(x == 1.0 for x in row['ratios']) and
                  all(d == 0 for d in row['drops_all']) and
                  all(f is not None and f >= 100000
                      for f in row['ui_flows_all']))
            add(name, ok, 'counted/rx ' + ', '.join(
                fmt_ratio(x) for x in row['ratios']),
                'kernel drops ' + ', '.join(
                    fmt(d) for d in row['drops_all']) + '; ' +
                '; '.join(row['notes']))
        # the UI thread's CPU per refresh (median of the sorted frames)
        for flows, label, lim in ((100000, '100k', 20), (1000000, '1M', 200)):
            d = self.out['ui_frame'].get(flows, {})
            s, z = d.get('sorted'), d.get('frozen')
            med = s and s['frame_med']
            add('UI frame < %d ms UI-thread CPU, %s flows (median)' %
                (lim, label), med is not None and med < lim,
                fmt(med, '{:.1f} ms'),
                'p90 %s, max %s; copy %s, update %s, layout %s, draw %s; '
                'order frozen: median %s, layout %s' % (
                    fmt(s and s['frame_p90'], '{:.1f}'),
                    fmt(s and s['frame_max'], '{:.1f}'),
                    fmt(s and s['copy'], '{:.1f}'),
                    fmt(s and s['update'], '{:.1f}'),
                    fmt(s and s['layout'], '{:.1f}'),
                    fmt(s and s['draw'], '{:.1f}'),
                    fmt(z and z['frame_med'], '{:.1f}'),
                    fmt(z and z['layout'], '{:.1f}')))
        # CPU per packet against tcpdump's
        for wl, label, lim in (('L2', '1k', 1.0), ('L3', '100k', 1.5)):
            row = live.get(wl, {}).get('pktstat')
            r = row and row.get('cpu_vs_tcpdump')
            add('capture CPU/packet <= %.1fx tcpdump, %s flows' %
                (lim, label), r is not None and r <= lim,
                fmt(r, '{:.2f}x'),
                'pktstat %s vs tcpdump %s s/Mpkt' % (
                    fmt(row and row['cpu_s_per_mpkt'], '{:.3f}'),
                    fmt(live.get(wl, {}).get('tcpdump', {})
                        .get('cpu_s_per_mpkt'), '{:.3f}')))
        # offline speed
        for f, d in sorted(self.out['offline'].items()):
            p = d.get('pktstat', {}).get('pps')
            for tool, lim in (('tcpdump', 1.0), ('tshark', 10.0)):
                o = d.get(tool, {}).get('pps')
                r = p / o if p and o else None
                add('offline pktstat -r pps >= %gx %s, %s flows' %
                    (lim, tool, '{:,}'.format(f)),
                    r is not None and r >= lim, fmt(r, '{:.2f}x'),
                    '%s vs %s packets/s' % (fmt(p), fmt(o)))
        # memory per flow
        b, n = self.rss_per_flow('L4')
        add('memory <= 256 resident bytes per flow at 1M flows',
            b is not None and b <= 256, fmt(b, '{:.0f} B/flow'),
            '%s flows in the table (RSS after L4 minus after L1)' % fmt(n))
        # stop time
        for wl, label, lim in (('L3', '100k', 100), ('L4', '1M', 1000)):
            row = live.get(wl, {}).get('pktstat')
            ok = (row is not None and row['repeats'] > 0 and
                  row['stop_ms_max'] is not None and
                  row['stop_ms_max'] < lim and
                  all(s == 1 for s in row['snapshots_ok']))
            add('stop (SIGTERM to exit, snapshot written) < %d ms, %s flows'
                % (lim, label), ok,
                'max %s ms' % fmt(row and row['stop_ms_max'], '{:.0f}'),
                'median %s ms, snapshots written: %s' % (
                    fmt(row and row['stop_ms'], '{:.0f}'),
                    row and ','.join(str(s) for s in row['snapshots_ok'])))
        self.table('Targets', ['verdict', 'target', 'measured', 'detail'],
                   rows, left=4)

    def header(self):
        m = self.meta
        lines = [
            'pktstat benchmark (%s run), %s' % (m.get('mode'), m.get('date')),
            'machine: %s CPUs, %s, %s MB, Linux %s, %s; load average '
            '%s at start, %s at end (a shared machine: other work competes '
            'for the cores)' % (
                m.get('nproc'), m.get('model'), m.get('mem_mb'),
                m.get('kernel'), m.get('os'), m.get('load_start'),
                self.end.get('load_end')),
            'tools: %s; %s; %s; %s; %s; %s; %s' % (
                m.get('v_pktstat'), m.get('v_tcpdump'), m.get('v_libpcap'),
                m.get('v_netsniff'), m.get('v_tshark'), m.get('v_opktstat'),
                m.get('v_iftop')),
            'method: bench/blast sends an exact count of frames on veth1 '
            '(TX ring, qdisc bypass); the reference is veth0\'s rx_packets '
            'delta; rings %s MiB per tool (pktstat 2 threads: %s MiB each); '
            'CPU is the tool\'s (all threads and children) over the traffic '
            'window, per million reference packets.' % (
                self.config.get('ring_mb'),
                (self.config.get('ring_mb') or 0) // 2),
            self.subset_line(),
        ]
        self.text.extend(lines)
        self.md.append('Measured by `make bench` on %s: %s CPUs (%s), '
                       'Linux %s, load average %s at start, %s at end.' % (
                           m.get('date'), m.get('nproc'), m.get('model'),
                           m.get('kernel'), m.get('load_start'),
                           self.end.get('load_end')))
        self.md.append('')
        self.md.append(lines[3])
        self.md.append('')
        self.md.append(lines[4])

    def subset_line(self):
        """What this run left out, in words, with the generator's max."""
        maxed = [num(r, 'gen_pps') for r in self.live
                 if self.workloads.get(r.get('workload'), {}).get('rate') == 0
                 and 'error' not in r and num(r, 'gen_pps') is not None]
        gmax = med(maxed)
        lo = min(maxed, default=None)
        hi = max(maxed, default=None)
        per = '; '.join('%s: %s' % (w, self.workloads[w].get('tools', ''))
                        for w in self.config.get('workloads', '').split()
                        if w in self.workloads)
        return ('subset run (time budget per part): at "max" the generator '
                'reached %s to %s pps (median %s; it shares the 2 cores with '
                'the tool under test); iftop only on single-size IPv4 UDP '
                'workloads (it reports bytes); tools per workload: %s.' % (
                    fmt(lo), fmt(hi), fmt(gmax), per))

    def run(self, prefix):
        self.header()
        self.section_idle()
        self.section_live()
        self.section_ebpf()
        self.section_offline()
        self.section_callgrind()
        self.section_scaling()
        self.section_ui()
        self.section_history()
        self.section_targets()
        failed = [t for t in self.out['targets'] if not t['pass']]
        tail = 'targets: %d PASS, %d FAIL; run took %s s' % (
            len(self.out['targets']) - len(failed), len(failed),
            self.end.get('seconds', '?'))
        self.text.append('')
        self.text.append(tail)
        self.md.append('')
        self.md.append(tail)
        with open(prefix + '.json', 'w') as f:
            json.dump(self.out, f, indent=1, sort_keys=True)
            f.write('\n')
        with open(prefix + '.md', 'w') as f:
            f.write('\n'.join(self.md) + '\n')
        print('\n'.join(self.text))
        print('\nwritten: %s.json, %s.md' % (prefix, prefix))


def main():
    if len(sys.argv) != 3:
        sys.stderr.write('usage: report.py RECORDS.jsonl PREFIX\n')
        return 2
    with open(sys.argv[1]) as f:
        records = [json.loads(line) for line in f if line.strip()]
    Report(records).run(sys.argv[2])
    return 0


if __name__ == '__main__':
    sys.exit(main())
