using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// Who may run the site from afar: admin accounts (the console's sign-in;
/// the first is made at the first start of a server) and API tokens, each
/// read-only or admin, kept only as a hash of the secret.
/// </summary>
[Migration(15, "Admin accounts and API tokens")]
public sealed class M0015_AdminAccess : Migration
{
    private const string UtcTimestamp = "timestamptz";

    public override void Up()
    {
        Create.Table("accounts")
            .WithColumn("id").AsInt64().PrimaryKey("pk_accounts").Identity()
            .WithColumn("name").AsString(64).NotNullable()
            .WithColumn("password_hash").AsString(256).NotNullable()
            .WithColumn("created_at").AsCustom(UtcTimestamp).NotNullable()
            .WithColumn("password_set_at").AsCustom(UtcTimestamp).NotNullable();
        Execute.Sql("CREATE UNIQUE INDEX ux_accounts_name ON accounts (lower(name))");

        Create.Table("api_tokens")
            .WithColumn("id").AsInt64().PrimaryKey("pk_api_tokens").Identity()
            .WithColumn("name").AsString(64).NotNullable()
            .WithColumn("secret_hash").AsString(64).NotNullable()
            .WithColumn("scope").AsString(16).NotNullable()
            .WithColumn("created_at").AsCustom(UtcTimestamp).NotNullable()
            .WithColumn("created_by").AsString(128).NotNullable()
            .WithColumn("last_used_at").AsCustom(UtcTimestamp).Nullable()
            .WithColumn("revoked_at").AsCustom(UtcTimestamp).Nullable();
        Execute.Sql("CREATE UNIQUE INDEX ux_api_tokens_name ON api_tokens (lower(name))");
        Create.Index("ux_api_tokens_secret").OnTable("api_tokens").OnColumn("secret_hash").Unique();
    }

    public override void Down()
    {
        Delete.Table("api_tokens");
        Delete.Table("accounts");
    }
}
