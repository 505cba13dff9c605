// MynaKeyStoreCheck drives the My Number Card module through Java's SunPKCS11
// provider, one provider per token (slot), and prints one line per check:
//
//   RESULT PASS <what>
//   RESULT FAIL <what>: <why>
//   INFO <text>
//
// Usage: java MynaKeyStoreCheck AUTH_CONFIG SIGN_CONFIG AUTH_CERT_PEM
// The PINs come from the environment (MYNA_AUTH_PIN, MYNA_SIGN_PIN), never
// from the command line. Exits 1 when any check failed. Compiled and run by
// test/suites/java.sh.

import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

public final class MynaKeyStoreCheck {
    private static int failures;

    private static void pass(String what) {
        System.out.println("RESULT PASS " + what);
    }

    private static void fail(String what, Throwable why) {
        failures++;
        String msg = why.getClass().getSimpleName() + ": " + why.getMessage();
        Throwable c = why.getCause();
        if (c != null) {
            msg += " (cause " + c.getClass().getSimpleName() + ": " + c.getMessage() + ")";
        }
        System.out.println("RESULT FAIL " + what + ": " + msg);
    }

    private static void fail(String what, String why) {
        failures++;
        System.out.println("RESULT FAIL " + what + ": " + why);
    }

    private static void info(String text) {
        System.out.println("INFO " + text);
    }

    /** An entry of a PKCS11 KeyStore as "alias (kind)". */
    private static String describe(KeyStore ks, String alias) throws Exception {
        String kind = ks.isKeyEntry(alias) ? "key entry" : ks.isCertificateEntry(alias) ? "certificate entry" : "entry";
        return alias + " (" + kind + ")";
    }

    private static List<String> aliases(KeyStore ks) throws Exception {
        List<String> out = new ArrayList<>();
        for (String a : Collections.list(ks.aliases())) {
            out.add(describe(ks, a));
        }
        return out;
    }

    /** Finds the key entry whose certificate is want (or any key entry when want is null). */
    private static String keyAlias(KeyStore ks, X509Certificate want) throws Exception {
        for (String a : Collections.list(ks.aliases())) {
            if (!ks.isKeyEntry(a)) {
                continue;
            }
            Certificate c = ks.getCertificate(a);
            if (want == null || want.equals(c)) {
                return a;
            }
        }
        return null;
    }

    /** Signs data with the entry's key through p and verifies with its certificate (SunRsaSign). */
    private static void signAndVerify(String token, Provider p, KeyStore ks, String alias, char[] pin, String alg) {
        String what = token + ": " + alg + " signature with the card key '" + alias
                + "' verifies with its certificate";
        try {
            Key k = ks.getKey(alias, pin);
            if (!(k instanceof PrivateKey)) {
                fail(what, "getKey returned " + k);
                return;
            }
            byte[] data = ("myna-pkcs11 java suite " + token + " " + System.nanoTime()).getBytes(StandardCharsets.UTF_8);
            Signature s = Signature.getInstance(alg, p);
            s.initSign((PrivateKey) k);
            s.update(data);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg, "SunRsaSign");
            v.initVerify(ks.getCertificate(alias).getPublicKey());
            v.update(data);
            if (!v.verify(sig)) {
                fail(what, "the signature does not verify");
                return;
            }
            data[0] ^= 1;
            v.initVerify(ks.getCertificate(alias).getPublicKey());
            v.update(data);
            if (v.verify(sig)) {
                fail(what, "the signature also verifies altered data");
                return;
            }
            pass(what + " (" + sig.length + " bytes, rejected for altered data)");
        } catch (Exception e) {
            fail(what, e);
        }
    }

    private static Provider provider(String token, String config) {
        try {
            Provider p = Security.getProvider("SunPKCS11").configure(config);
            pass(token + ": SunPKCS11 provider " + p.getName() + " configured from " + config);
            return p;
        } catch (Exception e) {
            fail(token + ": SunPKCS11 provider from " + config, e);
            return null;
        }
    }

    private static KeyStore load(String token, Provider p, char[] pin) {
        String what = token + ": KeyStore PKCS11 " + (pin == null ? "without login" : "with login");
        try {
            KeyStore ks = KeyStore.getInstance("PKCS11", p);
            ks.load(null, pin);
            pass(what + ": aliases " + aliases(ks));
            return ks;
        } catch (Exception e) {
            if (pin == null && e.getCause() instanceof javax.security.auth.login.LoginException) {
                // SunPKCS11 logs in before listing a token flagged CKF_LOGIN_REQUIRED;
                // without a PIN or callback handler it refuses cleanly.
                pass(what + ": refused cleanly, SunPKCS11 needs the PIN to list a login-required token ("
                        + e.getCause().getMessage() + ")");
            } else {
                fail(what, e);
            }
            return null;
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: MynaKeyStoreCheck AUTH_CONFIG SIGN_CONFIG AUTH_CERT_PEM");
            System.exit(2);
        }
        String authPin = System.getenv("MYNA_AUTH_PIN");
        String signPin = System.getenv("MYNA_SIGN_PIN");
        if (authPin == null || signPin == null) {
            System.err.println("MynaKeyStoreCheck: set MYNA_AUTH_PIN and MYNA_SIGN_PIN");
            System.exit(2);
        }
        X509Certificate authCert;
        try (InputStream in = new FileInputStream(args[2])) {
            authCert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }

        // The auth token: public entries first, then everything after login.
        Provider pa = provider("auth token", args[0]);
        if (pa != null) {
            load("auth token", pa, null);
            KeyStore ks = load("auth token", pa, authPin.toCharArray());
            if (ks != null) {
                String alias = keyAlias(ks, authCert);
                if (alias == null) {
                    fail("auth token: a key entry carries the card's auth certificate", "aliases " + aliases(ks));
                } else {
                    pass("auth token: key entry '" + alias + "' carries the card's auth certificate");
                    signAndVerify("auth token", pa, ks, alias, authPin.toCharArray(), "SHA256withRSA");
                    signAndVerify("auth token", pa, ks, alias, authPin.toCharArray(), "SHA512withRSA");
                }
            }
        }

        // The sign token: its certificate appears only after login with the sign PIN.
        Provider ps = provider("sign token", args[1]);
        if (ps != null) {
            KeyStore ks0 = load("sign token", ps, null);
            if (ks0 != null && keyAlias(ks0, null) != null && ks0.getCertificate(keyAlias(ks0, null)) != null) {
                fail("sign token: no certificate before login", "aliases " + aliases(ks0));
            } else if (ks0 != null) {
                pass("sign token: no key entry with a certificate before login");
            }
            KeyStore ks = load("sign token", ps, signPin.toCharArray());
            if (ks != null) {
                String alias = keyAlias(ks, null);
                if (alias == null) {
                    fail("sign token: a key entry after login", "aliases " + aliases(ks));
                } else if (authCert.equals(ks.getCertificate(alias))) {
                    fail("sign token: the key entry's certificate is not the auth certificate", alias);
                } else {
                    pass("sign token: key entry '" + alias + "' with its own certificate after login");
                    signAndVerify("sign token", ps, ks, alias, signPin.toCharArray(), "SHA256withRSA");
                }
            }
        }
        info(failures + " failure(s)");
        System.exit(failures == 0 ? 0 : 1);
    }
}
