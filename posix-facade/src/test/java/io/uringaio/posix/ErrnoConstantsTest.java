package io.uringaio.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * The facade's {@link Errno} is a view of the engine's {@link ErrnoTable}: one table of numbers, names and messages.
 * The values the spec pins must hold, and every {@code Errno} constant must be the table's constant of the same name.
 */
class ErrnoConstantsTest {

    /** The values docs/posix-facade-spec.md pins for {@code Errno} (Linux x86-64). */
    private static final Map<String, Integer> SPEC = Map.ofEntries(
            Map.entry("EPERM", 1), Map.entry("EINTR", 4), Map.entry("EIO", 5), Map.entry("EBADF", 9),
            Map.entry("EAGAIN", 11), Map.entry("EFAULT", 14), Map.entry("EBUSY", 16), Map.entry("EINVAL", 22),
            Map.entry("EFBIG", 27), Map.entry("ENOSPC", 28), Map.entry("ESPIPE", 29), Map.entry("EOVERFLOW", 75),
            Map.entry("EINPROGRESS", 115), Map.entry("ECANCELED", 125));

    /** Linux's second names for a number; the table names the number by the canonical one. */
    private static final Map<String, String> ALIASES = Map.of("EWOULDBLOCK", "EAGAIN", "ENOTSUP", "EOPNOTSUPP");

    @Test
    void specPinnedValuesHoldInErrnoAndInTheTable() throws ReflectiveOperationException {
        for (Map.Entry<String, Integer> pinned : SPEC.entrySet()) {
            String name = pinned.getKey();
            int value = pinned.getValue();
            assertEquals(value, Errno.class.getField(name).getInt(null), "Errno." + name);
            assertEquals(value, ErrnoTable.class.getField(name).getInt(null), "ErrnoTable." + name);
            assertEquals(name, ErrnoTable.name(value), "ErrnoTable.name(" + value + ")");
        }
    }

    @Test
    void everyErrnoConstantIsTheTablesConstantOfTheSameName() throws ReflectiveOperationException {
        List<String> checked = new ArrayList<>();
        for (Field field : Errno.class.getFields()) {
            if (!isIntConstant(field)) {
                continue;
            }
            String name = field.getName();
            int value = field.getInt(null);
            String canonical = ALIASES.getOrDefault(name, name);
            assertEquals(ErrnoTable.class.getField(canonical).getInt(null), value, "Errno." + name);
            assertEquals(canonical, ErrnoTable.name(value), "ErrnoTable.name(Errno." + name + ")");
            assertEquals(ErrnoTable.message(value), Errno.strerror(value), "strerror(Errno." + name + ")");
            checked.add(name);
        }
        assertTrue(checked.size() >= 35, "Errno's constants found by reflection: " + checked);
    }

    @Test
    void strerrorIsTheTablesMessageAlsoForZeroAndUnknownNumbers() {
        assertEquals("Success", Errno.strerror(0));
        assertEquals("Bad file descriptor", Errno.strerror(Errno.EBADF));
        assertEquals(ErrnoTable.message(999), Errno.strerror(999));
        assertEquals(ErrnoTable.message(-1), Errno.strerror(-1));
    }

    private static boolean isIntConstant(Field field) {
        int modifiers = field.getModifiers();
        return field.getType() == int.class && Modifier.isStatic(modifiers) && Modifier.isFinal(modifiers);
    }
}
