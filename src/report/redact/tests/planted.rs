//! The planted-secret corpus of the redaction unit tests: one case per form of
//! `docs/redaction.md`, each with the values that must not survive.

/// Each case: the text and the secret values planted in it.
pub(super) fn planted() -> Vec<(String, Vec<&'static str>)> {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq7BFUpkGp3+LQmlQ\nYx2u9Hn0TqzR3s8YvFv1Qk\n-----END RSA PRIVATE KEY-----";
    let cases: Vec<(String, Vec<&'static str>)> = vec![
        (
            "Authorization: Bearer abc123def456ghi789".into(),
            vec!["abc123def456ghi789"],
        ),
        (
            "authorization: Basic dXNlcjpodW50ZXIy".into(),
            vec!["dXNlcjpodW50ZXIy"],
        ),
        (
            "Proxy-Authorization: token s3cr3tProxyTok".into(),
            vec!["s3cr3tProxyTok"],
        ),
        (
            "Authorization: Digest username=\"bob\", response=\"6629fae49393a05397450978507c4ef1\""
                .into(),
            vec!["6629fae49393a05397450978507c4ef1"],
        ),
        (
            "curl -H 'Authorization: Bearer qwertyUIOP12345' http://x".into(),
            vec!["qwertyUIOP12345"],
        ),
        (
            "{\"headers\":{\"Authorization\":\"Bearer zxcvbnm987654\",\"Host\":\"a\"}}".into(),
            vec!["zxcvbnm987654"],
        ),
        (
            "sent with bearer Zm9vYmFyYmF6cXV4MTIz to api".into(),
            vec!["Zm9vYmFyYmF6cXV4MTIz"],
        ),
        (
            "postgres://app:Hunter2Pass@db.internal:5432/app".into(),
            vec!["Hunter2Pass"],
        ),
        ("amqp://guest:gu3st!pw@rabbit/".into(), vec!["gu3st!pw"]),
        (
            "redis://:onlypassword99@cache:6379".into(),
            vec!["onlypassword99"],
        ),
        (
            "mongodb://u:p@ss@w0rd@mongo:27017/db".into(),
            vec!["p@ss@w0rd", "ss@w0rd"],
        ),
        (
            "DB_PASSWORD=correct-horse-battery".into(),
            vec!["correct-horse-battery"],
        ),
        ("password=p4ss user=alice".into(), vec!["p4ss"]),
        (
            "export MYSQLPASSWORD='with spaces inside'".into(),
            vec!["with spaces inside"],
        ),
        (
            "x-api-key: 0123456789abcdef".into(),
            vec!["0123456789abcdef"],
        ),
        ("api_key = k3yk3yk3y".into(), vec!["k3yk3yk3y"]),
        ("apikey=zz9zz9zz9".into(), vec!["zz9zz9zz9"]),
        (
            "{\"client_secret\": \"cs-555-secret\", \"user\": \"bob\"}".into(),
            vec!["cs-555-secret"],
        ),
        ("{\"token\":\"tok_live_777\"}".into(), vec!["tok_live_777"]),
        ("{\"sessionId\": 9876543210}".into(), vec!["9876543210"]),
        (
            "GET /cb?code=1&access_token=at-xyz-123&state=s".into(),
            vec!["at-xyz-123"],
        ),
        (
            "Cookie: sid=abcdefg1234; csrftoken=zzz999".into(),
            vec!["abcdefg1234", "zzz999"],
        ),
        (
            "Set-Cookie: session=deadbeefcafe; Path=/; HttpOnly".into(),
            vec!["deadbeefcafe"],
        ),
        (
            "db:\n  password: yaml-secret-42\n  user: app".into(),
            vec!["yaml-secret-42"],
        ),
        ("&{User:bob Password:gostructpw}".into(), vec!["gostructpw"]),
        (
            "mysqld --user=app --password s3cretflag --port 3306".into(),
            vec!["s3cretflag"],
        ),
        ("credentials=AbC-cred-99".into(), vec!["AbC-cred-99"]),
        ("auth=a1b2c3d4".into(), vec!["a1b2c3d4"]),
        ("private_key: pk-123-456".into(), vec!["pk-123-456"]),
        ("access_key=ak-zzz-111".into(), vec!["ak-zzz-111"]),
        ("secret_key=sk-zzz-222".into(), vec!["sk-zzz-222"]),
        ("PWD=/root/secretdir".into(), vec!["/root/secretdir"]),
        (
            "passwd: \"unterminated quoted pw".into(),
            vec!["unterminated quoted pw"],
        ),
        (
            "aws_access_key_id=AKIAIOSFODNN7EXAMPLE".into(),
            vec!["AKIAIOSFODNN7EXAMPLE"],
        ),
        (
            "creds ASIAY34FZKBOKMUTVV7A expire soon".into(),
            vec!["ASIAY34FZKBOKMUTVV7A"],
        ),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            vec!["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
        ),
        (
            "maps key AIzaSyA1234567890abcdefghijklmnopqrstuv in url".into(),
            vec!["AIzaSyA1234567890abcdefghijklmnopqrstuv"],
        ),
        (
            "cloned with ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789".into(),
            vec!["ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"],
        ),
        (
            "oauth gho_16C7e42F292c6912E7710c838347Ae178B4a ok".into(),
            vec!["gho_16C7e42F292c6912E7710c838347Ae178B4a"],
        ),
        (
            "app ghs_zYxWvUtSrQpOnMlKjIhGfEdCbA9876543210".into(),
            vec!["ghs_zYxWvUtSrQpOnMlKjIhGfEdCbA9876543210"],
        ),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz".into(),
            vec!["github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"],
        ),
        (
            "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp".into(),
            vec!["xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp"],
        ),
        (
            "slack xoxp-98765-43210-abcdef".into(),
            vec!["xoxp-98765-43210-abcdef"],
        ),
        (format!("jwt {jwt} seen"), vec![jwt]),
        (
            format!("key file:\n{pem}\ntrailing line"),
            vec!["MIIEowIBAAKCAQEAq7BFUpkGp3+LQmlQ", "Yx2u9Hn0TqzR3s8YvFv1Qk"],
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n(truncated)".into(),
            vec!["b3BlbnNzaC1rZXktdjEAAAAA"],
        ),
    ];
    let more: &[(&str, &str)] = &[
        ("mysql -h db -uroot -pPLANTEDmysqlPw app", "PLANTEDmysqlPw"),
        ("/usr/bin/mysqldump -u app -p'PLANTED quoted' db", "PLANTED quoted"),
        ("mariadb --user=root -pPLANTEDmaria", "PLANTEDmaria"),
        ("python3 x --password=PLANTEDa -pPLANTEDcmdMysql mysql", "PLANTEDa"),
        ("mysqladmin --passwd PLANTEDpasswd status", "PLANTEDpasswd"),
        ("tool --pass PLANTEDpassflag", "PLANTEDpassflag"),
        ("sshpass -p PLANTEDsshpass ssh host", "PLANTEDsshpass"),
        ("mongosh -u admin -p PLANTEDmongo", "PLANTEDmongo"),
        ("redis-cli -h cache -a PLANTEDredis ping", "PLANTEDredis"),
        ("sqlcmd -S db -U sa -P PLANTEDsqlcmd", "PLANTEDsqlcmd"),
        ("docker login -u ci -p PLANTEDdocker registry.io", "PLANTEDdocker"),
        ("ldapsearch -x -D cn=admin -w PLANTEDldap", "PLANTEDldap"),
        ("curl -u alice:PLANTEDcurl https://x", "PLANTEDcurl"),
        ("smbclient //srv/share -U alice%PLANTEDsmb", "PLANTEDsmb"),
        ("openssl rsa -passin pass:PLANTEDopenssl -in k", "PLANTEDopenssl"),
        ("machine api.example.com login bob password PLANTEDnetrc", "PLANTEDnetrc"),
        ("token glpat-PLANTEDgitlabTok12345", "PLANTEDgitlabTok12345"),
        ("deploy gldt-PLANTEDgitlabDeploy0123", "PLANTEDgitlabDeploy0123"),
        ("runner glrt-PLANTEDgitlabRunner0123", "PLANTEDgitlabRunner0123"),
        ("key AIzaSyPLANTEDgoogleKey_0123456789abcd", "PLANTEDgoogleKey"),
        ("oauth ya29.PLANTEDgoogleOauth0123456789", "PLANTEDgoogleOauth"),
        ("stripe sk_live_PLANTEDstripe0123456789", "PLANTEDstripe0123456789"),
        ("stripe rk_live_PLANTEDstripeRk012345", "PLANTEDstripeRk012345"),
        ("stripe sk_test_PLANTEDstripeTest0123", "PLANTEDstripeTest0123"),
        ("npm npm_PLANTEDnpmToken0123456789abcdefghijklm", "PLANTEDnpmToken"),
        ("slack xoxa-PLANTEDslackA-0123", "PLANTEDslackA"),
        (
            "hook https://hooks.slack.com/services/T0PLANTED/B0PLANTED/PLANTEDslackHook0123",
            "PLANTEDslackHook0123",
        ),
        ("github ghu_PLANTEDghu0123456789abcdefghijkl", "PLANTEDghu"),
        ("github ghr_PLANTEDghr0123456789abcdefghijkl", "PLANTEDghr"),
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=PLANTEDazure+Key/0==;EndpointSuffix=core.windows.net",
            "PLANTEDazure",
        ),
        (
            "https://acct.blob.core.windows.net/c?sv=2022&sig=PLANTEDsasSig%3D&se=x",
            "PLANTEDsasSig",
        ),
        (
            "mail SG.PLANTEDsendgrid01234.PLANTEDsendgridSecret0123456789abcdef",
            "PLANTEDsendgrid",
        ),
        ("twilio SK0123456789abcdef0123456789abcdef", "SK0123456789abcdef"),
        ("heroku HRKU-PLANTEDheroku0123456789abcdef", "PLANTEDheroku"),
        (
            "do dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdef",
        ),
        ("vault hvs.PLANTEDvaultToken0123456789", "PLANTEDvaultToken"),
        (
            "pypi pypi-AgEIcHlwaS5vcmcPLANTEDpypiToken0123456789abcdefghijklmnop",
            "PLANTEDpypiToken",
        ),
        ("docker dckr_pat_PLANTEDdockerHub012345678", "PLANTEDdockerHub"),
        (
            "openai sk-proj-PLANTEDopenaiProj0123456789abcdef",
            "PLANTEDopenaiProj",
        ),
        (
            "openai sk-PLANTEDopenaiLegacy0123456789abcdefghij",
            "PLANTEDopenaiLegacy",
        ),
        (
            "anthropic sk-ant-api03-PLANTEDanthropic0123456789abcdef",
            "PLANTEDanthropic",
        ),
        ("hf hf_PLANTEDhuggingface0123456789abcdefgh", "PLANTEDhuggingface"),
        (
            "-Djavax.net.ssl.keyStorePassword=PLANTEDjavaProp",
            "PLANTEDjavaProp",
        ),
        ("GITLAB_PAT=PLANTEDpatVar", "PLANTEDpatVar"),
        (
            "2026-12-01 app: -----BEGIN EC PRIVATE KEY-----\n2026-12-01 app: MHcCAQEEIPLANTEDpemBody0123\n2026-12-01 app: -----END EC PRIVATE KEY-----",
            "PLANTEDpemBody",
        ),
        (
            "{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBPLANTEDinlinePem\\n-----END PRIVATE KEY-----\\n\"}",
            "PLANTEDinlinePem",
        ),
        (
            "tail starts inside a key\nMIIEvQIBADANBgkqPLANTEDorphan0123\nAbCdEfGhIjKlMnOpQrStUv==\n-----END PRIVATE KEY-----\nnext line",
            "PLANTEDorphan",
        ),
        (
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0PLANTEDpgp\n-----END PGP PRIVATE KEY BLOCK-----",
            "PLANTEDpgp",
        ),
    ];
    let mut all = cases;
    all.extend(more.iter().map(|(t, s)| (t.to_string(), vec![*s])));
    all
}
