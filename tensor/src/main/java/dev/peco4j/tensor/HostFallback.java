package dev.peco4j.tensor;

import java.lang.System.Logger.Level;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A device's backend as the ops see it: the device's own kernel where it has one, else the host's
 * kernel on copies of the tensors, with the results copied back to the device. Such a fallback is
 * never silent: the first one of each op logs a warning, and {@link Device#hostFallbacks()} counts
 * them all. Host scalars (rank 0) given to a device kernel are copied to the device first.
 */
final class HostFallback implements InvocationHandler {
    private static final System.Logger LOG = System.getLogger("dev.peco4j.tensor");
    private static final Map<Device, Map<String, AtomicLong>> COUNTS = new ConcurrentHashMap<>();

    private final Device device;
    private final Backend kernels;
    private final Map<Method, Boolean> implemented = new ConcurrentHashMap<>();

    private HostFallback(Device device, Backend kernels) {
        this.device = device;
        this.kernels = kernels;
    }

    static Backend wrap(Device device, Backend kernels) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                new HostFallback(device, kernels));
    }

    /** Every op on the host, counted: for a device kernel given what it does not take (a dtype, a layout). */
    static Backend hostOnly(Device device) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                new HostFallback(device, null));
    }

    static Map<String, Long> counts(Device device) {
        Map<String, Long> out = new TreeMap<>();
        COUNTS.getOrDefault(device, Map.of()).forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    @Override
    public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
        if (m.getDeclaringClass() == Object.class) return m.invoke(this, args);
        if (args == null) return kernels == null ? Backends.cpu().name() : m.invoke(kernels);
        if (kernels != null && implemented.computeIfAbsent(m, this::hasKernel)) return call(kernels, m, toDevice(args));
        return onHost(m, args);
    }

    /**
     * Whether the device's class overrides the interface method (a default method is the host's
     * reference), or the method's default is made of other ops ({@link Backend.Composite}).
     */
    private boolean hasKernel(Method m) {
        if (m.isAnnotationPresent(Backend.Composite.class)) return true;
        try {
            return !kernels.getClass().getMethod(m.getName(), m.getParameterTypes()).isDefault();
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /** args with host scalars copied to the device (the arguments themselves when there are none). */
    private Object[] toDevice(Object[] args) {
        Object[] out = args;
        for (int k = 0; k < args.length; k++) {
            if (args[k] instanceof Tensor t && t.device() != device) {
                if (out == args) out = args.clone();
                out[k] = t.to(device);
            }
        }
        return out;
    }

    private Object onHost(Method m, Object[] args) throws Throwable {
        AtomicLong n = COUNTS.computeIfAbsent(device, d -> new ConcurrentHashMap<>()).computeIfAbsent(m.getName(), k -> new AtomicLong());
        if (n.getAndIncrement() == 0) {
            LOG.log(Level.WARNING, device + " has no kernel for " + m.getName() + "; it runs on the host, with its tensors "
                    + "copied both ways (Device.hostFallbacks() counts these)");
        }
        Object[] host = args.clone();
        List<Tensor[]> written = new ArrayList<>(); // {device tensor, its host copy}, for ops that write in place
        for (int k = 0; k < host.length; k++) {
            if (host[k] instanceof Tensor t && t.device() == device) {
                Tensor h = t.hostView();
                host[k] = h;
                written.add(new Tensor[] {t, h});
            } else if (host[k] instanceof Tensor[] ts) {
                Tensor[] hs = ts.clone();
                for (int j = 0; j < hs.length; j++) if (hs[j] != null && hs[j].device() == device) hs[j] = hs[j].hostView();
                host[k] = hs;
            }
        }
        Object r = call(Backends.cpu(), m, host);
        if (r instanceof Tensor t) return t.to(device);
        if (r instanceof Tensor[] ts) {
            Tensor[] out = ts.clone();
            for (int j = 0; j < out.length; j++) if (out[j] != null) out[j] = out[j].to(device);
            return out;
        }
        if (m.getReturnType() == void.class) {
            for (Tensor[] pair : written) pair[0].storage.memory.upload(pair[1].storage);
        }
        return r;
    }

    private static Object call(Backend b, Method m, Object[] args) throws Throwable {
        try {
            return m.invoke(b, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
