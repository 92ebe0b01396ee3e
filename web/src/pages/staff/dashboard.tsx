import { useQuery } from '@tanstack/react-query';
import { Card, Col, Empty, Row, Segmented, Statistic } from 'antd';
import { useState } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { client, unwrap } from '../../api/client';
import { keys } from '../../api/queries';
import type { Dashboard, RefundStatus } from '../../api/types';
import { PageTitle, QueryView } from '../../components/feedback';
import { formatMoney } from '../../format';
import { useI18n } from '../../i18n/context';

const PALETTE = ['#1677ff', '#fa541c', '#52c41a', '#faad14', '#722ed1', '#13c2c2', '#eb2f96', '#a0d911', '#2f54eb', '#fa8c16'];
const STATUS_COLORS = { succeeded: '#52c41a', failed: '#ff4d4f', pending: '#1677ff', closed: '#bfbfbf' };

function short(day: string): string {
  return day.slice(5);
}

/** Rows of `{day, [key]: count}` for stacked charts, with every key present on every day. */
function pivot(days: string[], entries: { day: string; key: string; count: number }[]): { rows: Record<string, string | number>[]; series: string[] } {
  const series = [...new Set(entries.map((e) => e.key))].sort();
  const rows = days.map((day) => {
    const row: Record<string, string | number> = { day: short(day) };
    for (const s of series) row[s] = 0;
    for (const e of entries) if (e.day === day) row[e.key] = Number(row[e.key] ?? 0) + e.count;
    return row;
  });
  return { rows, series };
}

function ChartCard({ title, children, empty, testId }: { title: string; children: React.ReactElement; empty: boolean; testId: string }) {
  const { t } = useI18n();
  return (
    <Card title={title} size="small" data-testid={testId}>
      {empty ? (
        <Empty description={t('dashboard.noData')} style={{ height: 240, paddingTop: 60 }} />
      ) : (
        <div style={{ width: '100%', height: 260 }}>
          <ResponsiveContainer width="100%" height="100%">
            {children}
          </ResponsiveContainer>
        </div>
      )}
    </Card>
  );
}

function Charts({ data }: { data: Dashboard }) {
  const { t } = useI18n();
  const rate = data.recharges.map((d) => ({ day: short(d.day), rate: d.success_rate === null ? null : Math.round(d.success_rate * 1000) / 10 }));
  const volume = data.recharges.map((d) => ({ day: short(d.day), succeeded: d.succeeded, failed: d.failed, pending: d.pending, closed: d.closed }));
  const byCode = pivot(
    data.days,
    data.failures.map((f) => ({ day: f.day, key: f.code, count: f.count })),
  );
  const providerTotals = new Map<string, Record<string, number>>();
  for (const f of data.failures) {
    const row = providerTotals.get(f.provider) ?? {};
    row[f.code] = (row[f.code] ?? 0) + f.count;
    providerTotals.set(f.provider, row);
  }
  const byProvider = [...providerTotals.entries()].map(([provider, codes]) => ({ provider, ...codes }));
  const refunds = data.refunds.map((d) => ({
    day: short(d.day),
    created: d.created,
    automatic: d.automatic,
    succeeded: d.succeeded,
  }));
  const ttm = data.refunds.map((d) => ({ day: short(d.day), median: d.median_hours_to_money, p90: d.p90_hours_to_money }));
  const statuses = data.refunds_by_status.map((s) => ({ name: t(`fstatus.${s.status as RefundStatus}`), value: s.count, status: s.status }));
  const totalRecharges = data.recharges.reduce((n, d) => n + d.total, 0);
  const succeededAmount = data.recharges.reduce((n, d) => n + d.succeeded_amount, 0);
  const totalRefunds = data.refunds.reduce((n, d) => n + d.created, 0);
  const open = data.refunds_by_status
    .filter((s) => ['submitted', 'under_review', 'info_requested'].includes(s.status))
    .reduce((n, s) => n + s.count, 0);
  const noFailures = data.failures.length === 0;
  const breaches = data.sla_breaches.map((d) => ({ day: short(d.day), count: d.count }));

  return (
    <Row gutter={[16, 16]}>
      <Col xs={12} md={6}>
        <Card size="small">
          <Statistic title={t('dashboard.totalRecharges')} value={totalRecharges} />
        </Card>
      </Col>
      <Col xs={12} md={6}>
        <Card size="small">
          <Statistic title={t('dashboard.totalSucceeded')} value={formatMoney(succeededAmount)} />
        </Card>
      </Col>
      <Col xs={12} md={6}>
        <Card size="small">
          <Statistic title={t('dashboard.totalRefunds')} value={totalRefunds} />
        </Card>
      </Col>
      <Col xs={12} md={6}>
        <Card size="small">
          <Statistic title={t('dashboard.openRefunds')} value={open} />
        </Card>
      </Col>
      <Col xs={24} lg={12}>
        <ChartCard title={t('dashboard.successRate')} empty={totalRecharges === 0} testId="chart-success-rate">
          <LineChart data={rate}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" />
            <YAxis domain={[0, 100]} unit="%" />
            <Tooltip />
            <Line type="monotone" dataKey="rate" name={t('dashboard.successRate')} stroke="#52c41a" strokeWidth={2} connectNulls isAnimationActive={false} />
          </LineChart>
        </ChartCard>
      </Col>
      <Col xs={24} lg={12}>
        <ChartCard title={t('dashboard.rechargeVolume')} empty={totalRecharges === 0} testId="chart-recharge-volume">
          <BarChart data={volume}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" />
            <YAxis allowDecimals={false} />
            <Tooltip />
            <Legend />
            {(['succeeded', 'failed', 'pending', 'closed'] as const).map((s) => (
              <Bar key={s} dataKey={s} name={t(`rstatus.${s}`)} stackId="a" fill={STATUS_COLORS[s]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ChartCard>
      </Col>
      <Col xs={24} lg={12}>
        <ChartCard title={t('dashboard.failuresByCode')} empty={noFailures} testId="chart-failures-code">
          <BarChart data={byCode.rows}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" />
            <YAxis allowDecimals={false} />
            <Tooltip />
            <Legend />
            {byCode.series.map((code, i) => (
              <Bar key={code} dataKey={code} stackId="f" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ChartCard>
      </Col>
      <Col xs={24} lg={12}>
        <ChartCard title={t('dashboard.failuresByProvider')} empty={noFailures} testId="chart-failures-provider">
          <BarChart data={byProvider} layout="vertical" margin={{ left: 40 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis type="number" allowDecimals={false} />
            <YAxis type="category" dataKey="provider" width={140} />
            <Tooltip />
            <Legend />
            {byCode.series.map((code, i) => (
              <Bar key={code} dataKey={code} stackId="p" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ChartCard>
      </Col>
      <Col xs={24} lg={8}>
        <ChartCard title={t('dashboard.refundVolume')} empty={totalRefunds === 0} testId="chart-refund-volume">
          <BarChart data={refunds}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" />
            <YAxis allowDecimals={false} />
            <Tooltip />
            <Legend />
            <Bar dataKey="created" name={t('dashboard.created')} fill="#1677ff" isAnimationActive={false} />
            <Bar dataKey="automatic" name={t('dashboard.automatic')} fill="#722ed1" isAnimationActive={false} />
            <Bar dataKey="succeeded" name={t('fstatus.succeeded')} fill="#52c41a" isAnimationActive={false} />
          </BarChart>
        </ChartCard>
      </Col>
      <Col xs={24} lg={8}>
        <ChartCard title={t('dashboard.timeToMoney')} empty={ttm.every((d) => d.median === null)} testId="chart-time-to-money">
          <LineChart data={ttm}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" />
            <YAxis unit="h" />
            <Tooltip />
            <Legend />
            <Line dataKey="median" name={t('dashboard.median')} stroke="#1677ff" connectNulls isAnimationActive={false} />
            <Line dataKey="p90" name={t('dashboard.p90')} stroke="#fa541c" connectNulls isAnimationActive={false} />
          </LineChart>
        </ChartCard>
      </Col>
      <Col xs={24} lg={12}>
        <ChartCard title={`${t('dashboard.slaBreaches')} · ${t('dashboard.openLate', { n: data.sla_open_breached })}`} empty={false} testId="chart-sla">
          <BarChart data={breaches}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" />
            <YAxis allowDecimals={false} />
            <Tooltip />
            <Bar dataKey="count" name={t('dashboard.slaBreaches')} fill="#ff4d4f" isAnimationActive={false} />
          </BarChart>
        </ChartCard>
      </Col>
      <Col xs={24} lg={12}>
        <ChartCard title={t('dashboard.refundsByStatus')} empty={statuses.length === 0} testId="chart-refund-status">
          <PieChart>
            <Tooltip />
            <Legend />
            <Pie data={statuses} dataKey="value" nameKey="name" outerRadius={80} isAnimationActive={false}>
              {statuses.map((s, i) => (
                <Cell key={s.status} fill={PALETTE[i % PALETTE.length]} />
              ))}
            </Pie>
          </PieChart>
        </ChartCard>
      </Col>
    </Row>
  );
}

/** Pictures, not tables: recharge success, failures by code and provider, refunds and time to money. */
export function DashboardPage() {
  const { t } = useI18n();
  const [days, setDays] = useState(14);
  // The viewer's own day boundaries (getTimezoneOffset is minutes behind UTC, so the sign flips).
  const offset = -new Date().getTimezoneOffset();
  const dashboard = useQuery({
    queryKey: [...keys.dashboard, days, offset],
    queryFn: () => unwrap(client.GET('/v1/admin/dashboard', { params: { query: { days, utc_offset_minutes: offset } } })),
    refetchInterval: 60_000,
  });
  return (
    <>
      <PageTitle
        extra={
          <Segmented<number>
            value={days}
            onChange={setDays}
            options={[7, 14, 30].map((n) => ({ value: n, label: t('dashboard.days', { n }) }))}
          />
        }
      >
        {t('dashboard.title')}
      </PageTitle>
      <QueryView query={dashboard}>{(data) => <Charts data={data} />}</QueryView>
    </>
  );
}
