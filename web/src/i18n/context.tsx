import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { formatDateTime, formatDuration } from '../format';
import { currentLanguage, type Language, type Params, setCurrentLanguage, translate } from './language';
import type { MessageKey } from './messages';

interface I18n {
  language: Language;
  setLanguage(next: Language): void;
  t(key: MessageKey, params?: Params): string;
  date(iso: string | null | undefined): string;
  duration(ms: number): string;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [language, setLanguageState] = useState<Language>(currentLanguage());
  const setLanguage = useCallback(
    (next: Language) => {
      setCurrentLanguage(next);
      setLanguageState(next);
      // Server texts (failure messages, status notices, arrival estimates) come in the request's language.
      void queryClient.invalidateQueries();
    },
    [queryClient],
  );
  const value = useMemo<I18n>(
    () => ({
      language,
      setLanguage,
      t: (key, params) => translate(key, params, language),
      date: (iso) => formatDateTime(iso, language),
      duration: (ms) => formatDuration(ms, language),
    }),
    [language, setLanguage],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
