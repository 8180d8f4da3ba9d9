package io.uringaio.it.driver;

/**
 * A scenario's check did not hold. {@link ContainerDriver} prints its message after {@code FAIL } and exits with
 * status 1; every other throwable is reported with the command's name and a stack trace instead.
 */
final class CheckFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CheckFailed(String message) {
        super(message);
    }
}
