import {
  ActionIcon,
  AppShell,
  Burger,
  Drawer,
  Group,
  Menu,
  NavLink,
  Text,
  UnstyledButton,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconAlertTriangle, IconChartBar, IconCreditCard, IconLogout, IconMoon, IconSun, IconUserCircle, IconUsersGroup } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { NavLink as RouterNavLink, Outlet, useLocation } from 'react-router';
import { useEffect } from 'react';
import { useAuth, useSession } from '../auth/context';
import { LanguageSelect } from './LanguageSelect';
import { Logo } from './Logo';
import { HEADER_HEIGHT } from './metrics';

const LINKS = [
  { to: '/payments', key: 'nav.payments', icon: IconCreditCard },
  { to: '/analytics', key: 'nav.analytics', icon: IconChartBar },
  { to: '/customers', key: 'nav.customers', icon: IconUsersGroup },
  { to: '/attention', key: 'nav.attention', icon: IconAlertTriangle },
] as const;

/** AppLayout is the signed-in frame: header with navigation, language and account menu; a drawer nav on phones. */
export function AppLayout() {
  const { t } = useTranslation();
  const { logout } = useAuth();
  const { user } = useSession();
  const [opened, { toggle, close }] = useDisclosure(false);
  const location = useLocation();
  const { setColorScheme } = useMantineColorScheme();
  const scheme = useComputedColorScheme('light');

  // Close the phone navigation after moving to another page.
  useEffect(() => close(), [location.pathname, close]);

  return (
    <AppShell
      header={{ height: HEADER_HEIGHT }}
      padding={{ base: 'xs', sm: 'md' }}
    >
      <a className="skip-link" href="#main">
        {t('app.skipToContent')}
      </a>
      <AppShell.Header>
        <Group h="100%" px={{ base: 'xs', sm: 'md' }} justify="space-between" wrap="nowrap" gap="xs">
          <Group gap="xs" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('app.toggleNavigation')} />
            <Logo compact />
            <Group component="nav" aria-label={t('nav.main')} gap={4} ml="md" visibleFrom="sm">
              {LINKS.map((l) => (
                <NavLink
                  key={l.to}
                  component={RouterNavLink}
                  to={l.to}
                  label={t(l.key)}
                  leftSection={<l.icon size={18} aria-hidden />}
                  active={location.pathname.startsWith(l.to)}
                  variant="filled"
                  w="auto"
                  style={{ borderRadius: 'var(--mantine-radius-md)' }}
                />
              ))}
            </Group>
          </Group>
          <Group gap="xs" wrap="nowrap">
            <LanguageSelect />
            <ActionIcon
              variant="default"
              size="lg"
              aria-label={t('app.colorScheme')}
              onClick={() => setColorScheme(scheme === 'dark' ? 'light' : 'dark')}
              visibleFrom="xs"
            >
              {scheme === 'dark' ? <IconSun size={18} aria-hidden /> : <IconMoon size={18} aria-hidden />}
            </ActionIcon>
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <UnstyledButton aria-label={t('nav.account')} p={4}>
                  <Group gap={6} wrap="nowrap">
                    <IconUserCircle size={26} aria-hidden />
                    <Text size="sm" visibleFrom="md" maw={160} truncate>
                      {user.name}
                    </Text>
                  </Group>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>{t('nav.signedInAs', { email: user.email })}</Menu.Label>
                <Menu.Item leftSection={<IconLogout size={16} aria-hidden />} onClick={() => logout('logout')}>
                  {t('nav.logout')}
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <Drawer opened={opened} onClose={close} title={<Logo />} size="xs" hiddenFrom="sm">
        <nav aria-label={t('nav.main')}>
          {LINKS.map((l) => (
            <NavLink
              key={l.to}
              component={RouterNavLink}
              to={l.to}
              label={t(l.key)}
              leftSection={<l.icon size={18} aria-hidden />}
              active={location.pathname.startsWith(l.to)}
              variant="filled"
            />
          ))}
        </nav>
        <Text size="sm" c="dimmed" mt="lg" mb={4} px="sm">
          {t('nav.signedInAs', { email: user.email })}
        </Text>
        <NavLink
          component="button"
          label={t('nav.logout')}
          leftSection={<IconLogout size={18} aria-hidden />}
          onClick={() => logout('logout')}
        />
      </Drawer>
      <AppShell.Main id="main" tabIndex={-1}>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
