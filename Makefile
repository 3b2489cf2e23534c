# Thin wrapper over Meson for the README's two commands.
#   make          build build/lightsout
#   make demo     install what is missing, build, run the stress scenario of the lab (root)
#   make check    install what is missing, build, run every test (root for the network tests)

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 15
FUZZ_LONG_SECONDS ?= 300
PREFIX     ?= /usr/local
DESTDIR    ?=

# Debian 12 packages: to build, to test, and the real components the tests start.
BUILD_PKGS = build-essential meson ninja-build pkg-config clang clang-format libclang-rt-14-dev \
	libyaml-dev libsqlite3-dev libcurl4-openssl-dev libldns-dev libjansson-dev \
	libmicrohttpd-dev libcmocka-dev zlib1g-dev libbz2-dev libsystemd-dev scdoc
TEST_PKGS  = iproute2 nftables iputils-ping procps psmisc sqlite3 python3 openssl curl dnsutils \
	netcat-openbsd bird2 frr nginx-light nsd opensmtpd hping3 bgpdump fping zmap valgrind jq time bc \
	prometheus prometheus-alertmanager chromium \
	man-db systemd debhelper lintian dpkg-dev
PKGS = $(BUILD_PKGS) $(TEST_PKGS)

.PHONY: all deps build asan fuzz check unit integration lab fuzz-smoke format format-check demo clean install deb fuzz-long

all: build

deps:
	@missing=$$(for p in $(PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "lightsout: missing Debian packages: $$missing (run as root, or apt-get install them)" >&2; exit 1; fi; \
		echo "installing: $$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized -Dwerror=true

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debug -Dfuzz=true -Dtests=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link

fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

unit: asan
	meson test -C $(ASAN_BUILD) --print-errorlogs

# ASan build under test; valgrind_watch.sh takes the plain one (valgrind and ASan do not mix)
integration: asan build
	LIGHTSOUT=$(CURDIR)/$(ASAN_BUILD)/lightsout VALGRIND_LIGHTSOUT=$(CURDIR)/$(BUILD)/lightsout tests/integration/run.sh

lab: build
	LIGHTSOUT=$(CURDIR)/$(BUILD)/lightsout tests/lab/run-all.sh

# Lays out bin/, share/man/, lib/systemd/system/ and share/doc/lightsout/
# under $(DESTDIR)$(PREFIX).
install: $(BUILD)/build.ninja
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	ninja -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(DESTDIR))

# The Debian package, built from this tree into ../ (dpkg-buildpackage).
deb:
	dpkg-buildpackage -us -uc -b

fuzz-smoke: fuzz
	tests/fuzz/smoke.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# A longer campaign, run by hand (7 targets x FUZZ_LONG_SECONDS, 35 min by default).
fuzz-long: fuzz
	tests/fuzz/smoke.sh $(FUZZ_BUILD) $(FUZZ_LONG_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

# Everything CI runs; the last line counts what passed and failed.
check: deps
	@tests/check.sh

demo: deps build
	@tests/lab/demo.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
