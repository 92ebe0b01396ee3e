import {
  AlertOutlined,
  AuditOutlined,
  BellOutlined,
  DashboardOutlined,
  FileSearchOutlined,
  HomeOutlined,
  LogoutOutlined,
  MenuOutlined,
  ProfileOutlined,
  RollbackOutlined,
  TeamOutlined,
  TranslationOutlined,
  UnorderedListOutlined,
  WalletOutlined,
  CustomerServiceOutlined,
} from '@ant-design/icons';
import { Button, Drawer, Flex, Grid, Layout, Menu, type MenuProps, Tag, Typography } from 'antd';
import { type ReactNode, useState } from 'react';
import { Link, Outlet, useLocation, useNavigate } from 'react-router';
import type { Role } from '../api/types';
import { useAuth } from '../auth';
import { useI18n } from '../i18n/context';
import type { MessageKey } from '../i18n/messages';
import { StatusBanner } from './status-banner';

interface NavItem {
  path: string;
  label: MessageKey;
  icon: ReactNode;
  roles?: readonly Role[];
}

const PORTAL_NAV: NavItem[] = [
  { path: '/', label: 'nav.home', icon: <HomeOutlined /> },
  { path: '/recharge', label: 'nav.recharge', icon: <WalletOutlined /> },
  { path: '/recharges', label: 'nav.recharges', icon: <UnorderedListOutlined /> },
  { path: '/refunds', label: 'nav.refunds', icon: <RollbackOutlined /> },
  { path: '/notifications', label: 'nav.notifications', icon: <BellOutlined /> },
  { path: '/statement', label: 'nav.statement', icon: <ProfileOutlined /> },
  { path: '/tickets', label: 'nav.tickets', icon: <CustomerServiceOutlined /> },
];

/** Staff menus by role, mirroring each endpoint's auth rule (the server decides; this only hides what would 403). */
const STAFF_NAV: NavItem[] = [
  { path: '/staff/refunds', label: 'nav.queue', icon: <FileSearchOutlined />, roles: ['cs_agent'] },
  { path: '/staff/dashboard', label: 'nav.dashboard', icon: <DashboardOutlined />, roles: ['cs_agent', 'finance'] },
  { path: '/staff/providers', label: 'nav.providers', icon: <AlertOutlined />, roles: ['cs_agent', 'finance'] },
  { path: '/staff/audit', label: 'nav.audit', icon: <AuditOutlined />, roles: ['cs_supervisor', 'finance'] },
  { path: '/staff/accounts', label: 'nav.accounts', icon: <TeamOutlined />, roles: ['admin'] },
];

export function staffNav(can: (roles: readonly Role[]) => boolean): NavItem[] {
  return STAFF_NAV.filter((item) => !item.roles || can(item.roles));
}

function selectedKey(items: NavItem[], pathname: string): string {
  const match = items
    .filter((item) => (item.path === '/' ? pathname === '/' : pathname === item.path || pathname.startsWith(`${item.path}/`)))
    .sort((a, b) => b.path.length - a.path.length)[0];
  return match?.path ?? '';
}

export function LanguageSwitch() {
  const { t, language, setLanguage } = useI18n();
  return (
    <Button
      data-testid="lang-switch"
      icon={<TranslationOutlined />}
      onClick={() => setLanguage(language === 'en' ? 'zh-CN' : 'en')}
      type="text"
    >
      {t('nav.switchLanguage')}
    </Button>
  );
}

function UserBox({ compact }: { compact: boolean }) {
  const { t } = useI18n();
  const { me, signOut } = useAuth();
  const navigate = useNavigate();
  const screens = Grid.useBreakpoint();
  return (
    <Flex align="center" gap={4}>
      {!compact && me && screens.xxl ? (
        <Typography.Text type="secondary" data-testid="me-email" ellipsis style={{ maxWidth: 220 }}>
          {me.email}
        </Typography.Text>
      ) : null}
      <LanguageSwitch />
      <Button
        type="text"
        data-testid="sign-out"
        icon={<LogoutOutlined />}
        onClick={() => {
          signOut();
          void navigate('/login');
        }}
      >
        {compact ? null : t('nav.signOut')}
      </Button>
    </Flex>
  );
}

function menuItems(items: NavItem[], t: (key: MessageKey) => string): MenuProps['items'] {
  return items.map((item) => ({ key: item.path, icon: item.icon, label: <Link to={item.path}>{t(item.label)}</Link> }));
}

/** The customer portal: top navigation on wide screens, a drawer on a phone. */
export function PortalLayout() {
  const { t } = useI18n();
  const screens = Grid.useBreakpoint();
  const wide = screens.lg ?? false;
  const { pathname } = useLocation();
  const [open, setOpen] = useState(false);
  const items = menuItems(PORTAL_NAV, t);
  const selected = selectedKey(PORTAL_NAV, pathname);
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Header
        style={{ background: '#fff', display: 'flex', alignItems: 'center', gap: 16, paddingInline: wide ? 24 : 12, borderBottom: '1px solid #f0f0f0' }}
      >
        {!wide ? <Button type="text" icon={<MenuOutlined />} aria-label={t('nav.menu')} data-testid="menu-button" onClick={() => setOpen(true)} /> : null}
        <Link to="/" style={{ fontWeight: 700, fontSize: 18, whiteSpace: 'nowrap' }}>
          {t('app.name')}
        </Link>
        {wide ? (
          <Menu mode="horizontal" selectedKeys={[selected]} items={items} style={{ flex: 1, minWidth: 0, borderBottom: 'none' }} />
        ) : (
          <div style={{ flex: 1 }} />
        )}
        <UserBox compact={!wide} />
      </Layout.Header>
      <Drawer open={open} onClose={() => setOpen(false)} placement="left" size={260} title={t('app.name')}>
        <Menu mode="inline" selectedKeys={[selected]} items={items} onClick={() => setOpen(false)} style={{ borderInlineEnd: 'none' }} />
      </Drawer>
      <Layout.Content style={{ padding: wide ? 24 : 12, maxWidth: 1200, width: '100%', margin: '0 auto' }}>
        <StatusBanner />
        <Outlet />
      </Layout.Content>
    </Layout>
  );
}

/** The staff console: a side menu built from the signed-in staff member's role. */
export function StaffLayout() {
  const { t } = useI18n();
  const { can, me } = useAuth();
  const screens = Grid.useBreakpoint();
  const wide = screens.lg ?? false;
  const { pathname } = useLocation();
  const [open, setOpen] = useState(false);
  const nav = staffNav(can);
  const items = menuItems(nav, t);
  const selected = selectedKey(nav, pathname);
  const menu = <Menu mode="inline" selectedKeys={[selected]} items={items} onClick={() => setOpen(false)} style={{ borderInlineEnd: 'none' }} />;
  return (
    <Layout style={{ minHeight: '100vh' }}>
      {wide ? (
        <Layout.Sider width={220} theme="light" style={{ borderInlineEnd: '1px solid #f0f0f0' }}>
          <div style={{ padding: '20px 24px', fontWeight: 700 }}>{t('app.staffName')}</div>
          {menu}
        </Layout.Sider>
      ) : (
        <Drawer open={open} onClose={() => setOpen(false)} placement="left" size={240} title={t('app.staffName')}>
          {menu}
        </Drawer>
      )}
      <Layout>
        <Layout.Header
          style={{ background: '#fff', display: 'flex', alignItems: 'center', gap: 12, paddingInline: 16, borderBottom: '1px solid #f0f0f0' }}
        >
          {!wide ? <Button type="text" icon={<MenuOutlined />} aria-label={t('nav.menu')} onClick={() => setOpen(true)} /> : null}
          <div style={{ flex: 1 }}>
            {me?.roles.map((role) => (
              <Tag key={role} color="blue" data-testid="role-tag">
                {t(`role.${role as Role}`)}
              </Tag>
            ))}
          </div>
          <UserBox compact={!wide} />
        </Layout.Header>
        <Layout.Content style={{ padding: wide ? 24 : 12 }}>
          <Outlet />
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
