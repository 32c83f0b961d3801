import type { ReactNode } from 'react';
import { Box, Container, Group, Paper, Stack, Text, Title } from '@mantine/core';
import { LanguageSelect } from '../layout/LanguageSelect';
import { Logo } from '../layout/Logo';

/** PublicLayout frames the signed-out pages: logo, language switch and one centred card. */
export function PublicLayout({ title, subtitle, children }: { title: string; subtitle: string; children: ReactNode }) {
  return (
    <Box mih="100vh" bg="var(--mantine-color-gray-light)">
      <Group component="header" justify="space-between" px="md" py="sm">
        <Logo />
        <LanguageSelect />
      </Group>
      <Container size={460} px="sm" py={{ base: 'md', sm: 48 }} component="main" id="main">
        <Paper withBorder shadow="sm" p={{ base: 'md', sm: 'xl' }} radius="md">
          <Stack gap="xs" mb="lg">
            <Title order={1} size="h2">
              {title}
            </Title>
            <Text c="dimmed" size="sm">
              {subtitle}
            </Text>
          </Stack>
          {children}
        </Paper>
      </Container>
    </Box>
  );
}
