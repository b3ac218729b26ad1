/*
 * bcryptprimitives.dll for Wine 8, which lacks ProcessPrng: the Go runtime (1.22 and
 * later) loads it at start and dies without it. This DLL exports ProcessPrng and fills the
 * buffer with RtlGenRandom (SystemFunction036 of advapi32). Test use only: make
 * windows-test installs it in its own Wine prefix; real Windows has the real one.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -Wl,--kill-at -o bcryptprimitives.dll processprng.c
 */
#include <windows.h>

typedef BOOLEAN (WINAPI *gen_random_fn)(PVOID, ULONG);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	static gen_random_fn gen;
	if (!gen) {
		HMODULE advapi = LoadLibraryA("advapi32.dll");
		if (!advapi)
			return FALSE;
		gen = (gen_random_fn)GetProcAddress(advapi, "SystemFunction036");
		if (!gen)
			return FALSE;
	}
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!gen(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst; (void)reason; (void)reserved;
	return TRUE;
}
