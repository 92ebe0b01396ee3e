import { Result } from 'antd';
import { type ReactNode, Suspense, lazy } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import type { Role } from './api/types';
import { useAuth } from './auth';
import { Loading } from './components/feedback';
import { PortalLayout, StaffLayout, staffNav } from './components/layout';
import { useI18n } from './i18n/context';
import { SignInPage, SignUpPage } from './pages/auth';
import { HomePage } from './pages/portal/home';
import { NotificationsPage } from './pages/portal/notifications';
import { RechargePage } from './pages/portal/recharge';
import { RechargeDetailPage, RechargesPage } from './pages/portal/recharges';
import { RefundApplyPage, RefundDetailPage, RefundsPage } from './pages/portal/refunds';
import { StatementPage, TicketsPage } from './pages/portal/statement';
import { AccountsPage } from './pages/staff/accounts';
import { AuditPage } from './pages/staff/audit';
import { ProvidersPage } from './pages/staff/providers';
import { QueuePage } from './pages/staff/queue';
import { ReviewPage } from './pages/staff/review';

// The charts library is only needed by staff on the dashboard: a chunk of its own.
const DashboardPage = lazy(() => import('./pages/staff/dashboard').then((m) => ({ default: m.DashboardPage })));

function NotFound() {
  const { t } = useI18n();
  return <Result status="404" title="404" subTitle={t('error.notFound')} />;
}

function Forbidden() {
  const { t } = useI18n();
  return <Result status="403" title="403" subTitle={t('error.forbidden')} />;
}

/** Signed in, and on the right side: customers in the portal, staff in the console. */
function RequireSession({ staff, children }: { staff: boolean; children: ReactNode }) {
  const auth = useAuth();
  const location = useLocation();
  if (!auth.token) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  if (auth.loading || !auth.me) return <Loading />;
  if (staff && !auth.isStaff) return <Navigate to="/" replace />;
  if (!staff && auth.isStaff) return <Navigate to="/staff" replace />;
  return children;
}

function RequireRole({ roles, children }: { roles: readonly Role[]; children: ReactNode }) {
  const { can } = useAuth();
  return can(roles) ? children : <Forbidden />;
}

function StaffHome() {
  const { can } = useAuth();
  const first = staffNav(can)[0];
  return first ? <Navigate to={first.path} replace /> : <Forbidden />;
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<SignInPage />} />
      <Route path="/register" element={<SignUpPage />} />
      <Route
        path="/staff"
        element={
          <RequireSession staff>
            <StaffLayout />
          </RequireSession>
        }
      >
        <Route index element={<StaffHome />} />
        <Route
          path="refunds"
          element={
            <RequireRole roles={['cs_agent']}>
              <QueuePage />
            </RequireRole>
          }
        />
        <Route
          path="refunds/:id"
          element={
            <RequireRole roles={['cs_agent']}>
              <ReviewPage />
            </RequireRole>
          }
        />
        <Route
          path="dashboard"
          element={
            <RequireRole roles={['cs_agent', 'finance']}>
              <Suspense fallback={<Loading />}>
                <DashboardPage />
              </Suspense>
            </RequireRole>
          }
        />
        <Route
          path="providers"
          element={
            <RequireRole roles={['cs_agent', 'finance']}>
              <ProvidersPage />
            </RequireRole>
          }
        />
        <Route
          path="audit"
          element={
            <RequireRole roles={['cs_supervisor', 'finance']}>
              <AuditPage />
            </RequireRole>
          }
        />
        <Route
          path="accounts"
          element={
            <RequireRole roles={['admin']}>
              <AccountsPage />
            </RequireRole>
          }
        />
        <Route path="*" element={<NotFound />} />
      </Route>
      <Route
        element={
          <RequireSession staff={false}>
            <PortalLayout />
          </RequireSession>
        }
      >
        <Route index element={<HomePage />} />
        <Route path="recharge" element={<RechargePage />} />
        <Route path="recharges" element={<RechargesPage />} />
        <Route path="recharges/:id" element={<RechargeDetailPage />} />
        <Route path="recharges/:id/refund" element={<RefundApplyPage />} />
        <Route path="refunds" element={<RefundsPage />} />
        <Route path="refunds/:id" element={<RefundDetailPage />} />
        <Route path="notifications" element={<NotificationsPage />} />
        <Route path="statement" element={<StatementPage />} />
        <Route path="tickets" element={<TicketsPage />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
