package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import org.junit.jupiter.api.Test;

/** {@link RingEngineConfig#copy()} carries every setting, including one added later (each field is looked at). */
class RingEngineConfigCopyTest {
    @Test
    void aCopyHasEverySettingOfTheOriginal_andChangingItLeavesTheOriginal() throws Exception {
        RingEngineConfig original = new RingEngineConfig();
        int n = 0;
        for (Field f : RingEngineConfig.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers())) {
                continue;
            }
            f.setAccessible(true);
            f.set(original, notTheDefault(f, ++n)); // a value no default has, per field
        }
        RingEngineConfig copy = original.copy();
        assertNotSame(original, copy);
        for (Field f : RingEngineConfig.class.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers())) {
                f.setAccessible(true);
                if (f.getType().isPrimitive()) {
                    assertEquals(f.get(original), f.get(copy), f.getName() + " is not copied");
                } else {
                    assertSame(f.get(original), f.get(copy), f.getName() + " is not copied");
                }
            }
        }
        int rings = original.rings();
        copy.rings(rings + 1).afterCompletionBatch(() -> { });
        assertEquals(rings, original.rings(), "the copy is its own");
        assertSame(original.afterCompletionBatch(), original.afterCompletionBatch());
    }

    private static Object notTheDefault(Field f, int n) throws IllegalAccessException {
        Class<?> t = f.getType();
        if (t == int.class) {
            return 1000 + n;
        }
        if (t == long.class) {
            return 1_000_000L + n;
        }
        if (t == boolean.class) {
            return !(boolean) f.get(new RingEngineConfig());
        }
        if (t == String.class) {
            return "prefix-" + n;
        }
        if (t.isEnum()) {
            Object[] values = t.getEnumConstants();
            return values[values.length - 1];
        }
        if (t.isInterface()) { // the event loop group, the completion hook, the availability probe
            return Proxy.newProxyInstance(t.getClassLoader(), new Class<?>[] {t}, (proxy, method, args) -> null);
        }
        throw new AssertionError("a setting of a type this test does not know: " + f);
    }
}
