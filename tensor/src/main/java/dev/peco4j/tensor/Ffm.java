package dev.peco4j.tensor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/** Binding and calling C functions through the Foreign Function & Memory API, for the device APIs (OpenCL, CUDA). */
final class Ffm {
    private Ffm() {}

    /**
     * A downcall handle for name in lib (null when lib is). A critical call may pass heap arrays
     * without a copy; it must not call back into Java.
     */
    static MethodHandle bind(SymbolLookup lib, String library, String name, FunctionDescriptor fd, boolean critical) {
        if (lib == null) return null;
        MemorySegment fn = lib.find(name).orElseThrow(() -> new IllegalStateException(library + " has no " + name));
        Linker linker = Linker.nativeLinker();
        return critical ? linker.downcallHandle(fn, fd, Linker.Option.critical(true)) : linker.downcallHandle(fn, fd);
    }

    /** Calls a function returning an int status; a Throwable from the handle itself (a wrong descriptor) is rethrown unchecked. */
    static int call(MethodHandle h, Object... args) {
        return (int) invoke(h, args);
    }

    static MemorySegment callPtr(MethodHandle h, Object... args) {
        return (MemorySegment) invoke(h, args);
    }

    private static Object invoke(MethodHandle h, Object... args) {
        try {
            return h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
