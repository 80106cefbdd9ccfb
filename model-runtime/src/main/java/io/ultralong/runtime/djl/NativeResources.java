package io.ultralong.runtime.djl;

import java.lang.reflect.Field;
import java.util.Map;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;

/**
 * Counts what a manager holds: arrays and sub-managers, recursively. DJL lists the arrays
 * ({@code getManagedArrays}) but not the sub-managers, and a leak of empty sub-managers is exactly what its
 * cross-device copies produce (one per {@code toDevice} in {@code JniUtils.to}), so the field is read directly.
 */
public final class NativeResources {

    private static final Field RESOURCES;

    static {
        try {
            RESOURCES = BaseNDManager.class.getDeclaredField("resources");
            RESOURCES.setAccessible(true);
        } catch (NoSuchFieldException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private NativeResources() {
    }

    /** The manager itself, its arrays and every sub-manager below it, each counted once. */
    public static int count(NDManager manager) {
        int live = 1;
        try {
            for (Object resource : ((Map<?, ?>) RESOURCES.get(manager)).values()) {
                live += resource instanceof NDManager child ? count(child) : 1;
            }
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
        return live;
    }
}
