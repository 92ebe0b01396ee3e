import { en, type MessageKey, zh } from './messages';

export type Language = 'zh-CN' | 'en';
const STORAGE_KEY = 'topup.lang';

function stored(): Language {
  try {
    return window.localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

let language: Language = stored();

/** The UI language, also sent as Accept-Language so the API's messages match the screen. */
export function currentLanguage(): Language {
  return language;
}

export function setCurrentLanguage(next: Language): void {
  language = next;
  try {
    window.localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // not remembered in private mode
  }
  document.documentElement.lang = next;
}

export type Params = Record<string, string | number>;

export function translate(key: MessageKey, params?: Params, lang: Language = language): string {
  const text: string = lang === 'en' ? en[key] : zh[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}
