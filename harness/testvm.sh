# The test kernels of one base: the x86_64 debug kernel running the KUnit
# suites and selftests in QEMU (where the base has it, BASE_VM), and the
# series' suites through kunit.py on each of BASE_KUNIT_ARCHS.
# Sourced by run-base.sh after the series is applied.
# shellcheck shell=bash

if [ "$BASE_VM" = 1 ]; then
	selftests=()
	while read -r t _; do
		case "$t" in ''|'#'*) continue ;; esac
		selftests+=("$t")
	done <"$HARNESS/selftests.list"

	if stage build-test-kernel "$HARNESS/build.sh" test-x86_64; then
		if stage vm-x86_64 "$HARNESS/vm.sh" x86_64 "$BUILD/kbuild-test-x86_64/arch/x86/boot/bzImage" "${selftests[@]}"; then
			check results-x86_64 python3 "$HARNESS/console.py" "$TREE" "$BUILD/vm/x86_64/console.log" \
				--name "vm x86_64" --guest-dir "$BUILD/vm/x86_64/guest"
			sed -n 's/^\(PASS\|FAIL\|SKIP\) /  \1 /p' "$LOGS/results-x86_64.log" >&2
		else
			result FAIL "vm x86_64: the guest ran to the end"
		fi
	else
		result FAIL "test kernel builds (test-x86_64)"
	fi
fi

# The suites through kunit.py, as kernel developers run them: on UML (which has DMA
# emulation, and where the base tracks nothing), 32-bit i386 and x86_64
# (without the debug VM's full config).
for arch in $BASE_KUNIT_ARCHS; do
	allow=()
	# UML without a virtio PCI device given WARNs once in um_pci_init().
	[ "$arch" = um ] && allow=(--allow 'at (\S*/)?arch/um/drivers/virt-pci\.c:')
	if stage "kunit-$arch" "$HARNESS/kunit-arch.sh" "$arch"; then
		check "results-kunit-$arch" python3 "$HARNESS/console.py" "$TREE" "$BUILD/kunit-$arch.log" \
			--name "kunit.py $arch" "${allow[@]}"
		sed -n 's/^\(PASS\|FAIL\|SKIP\) /  \1 /p' "$LOGS/results-kunit-$arch.log" >&2
	else
		result FAIL "kunit.py $arch: the suites ran"
	fi
done
