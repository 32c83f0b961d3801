import { Button, Checkbox, Popover, SegmentedControl, Stack, Text } from '@mantine/core';
import { IconColumns } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { COLUMNS, REQUIRED_COLUMNS, type TableSettings } from './columns';

/** ColumnChooser lets a person pick the table's columns and density; the CSV export follows the columns. */
export function ColumnChooser({ value, onChange }: { value: TableSettings; onChange: (next: TableSettings) => void }) {
  const { t } = useTranslation();
  return (
    <Popover position="bottom-end" shadow="md" withArrow trapFocus>
      <Popover.Target>
        <Button variant="default" leftSection={<IconColumns size={16} aria-hidden />} aria-label={t('payments.table.chooserLabel')}>
          {t('payments.table.chooser')}
        </Button>
      </Popover.Target>
      <Popover.Dropdown>
        <Stack gap="sm" data-testid="column-chooser">
          <Checkbox.Group
            label={t('payments.table.shown')}
            value={value.columns}
            onChange={(cols) => onChange({ ...value, columns: cols })}
          >
            <Stack gap={6} mt={6}>
              {COLUMNS.map((c) => (
                <Checkbox key={c} value={c} label={t(`payments.columns.${c}`)} disabled={REQUIRED_COLUMNS.includes(c)} />
              ))}
            </Stack>
          </Checkbox.Group>
          <Stack gap={4}>
            <Text size="sm" fw={500} id="density-label">
              {t('payments.table.density')}
            </Text>
            <SegmentedControl
              size="xs"
              aria-labelledby="density-label"
              value={value.density}
              onChange={(d) => onChange({ ...value, density: d })}
              data={[
                { value: 'comfortable', label: t('payments.table.comfortable') },
                { value: 'compact', label: t('payments.table.compact') },
              ]}
            />
          </Stack>
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}
