using System.Data;
using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// Replicated stores (issue 12). A site keeps its vDisks either on one
/// shared folder every server mounts, or on each server's own disk with
/// the versions copied between servers; <c>site_settings</c> (one row)
/// says which, and holds the secret servers prove to each other when
/// they copy. Every version whose file no longer changes gets its content
/// hash (SHA-256 of the file's bytes), its length and the backing file its
/// qcow2 header names; <c>version_replicas</c> records, per server, what
/// that server's copy hashed to and whether it may be served.
/// (Number 10 is left to the farm branch, which adds its own.)
/// </summary>
[Migration(11, "Replicated stores: site settings, version content hashes, replicas per server")]
public sealed class M0011_ReplicatedStores : Migration
{
    private const string UtcTimestamp = "timestamptz";

    public override void Up()
    {
        Create.Table("site_settings")
            .WithColumn("id").AsInt32().PrimaryKey("pk_site_settings")
            .WithColumn("store").AsString(16).NotNullable().WithDefaultValue("shared")
            .WithColumn("farm_secret").AsString(64).Nullable()
            .WithColumn("changed_at").AsCustom(UtcTimestamp).Nullable();
        Insert.IntoTable("site_settings").Row(new { id = 1, store = "shared" });

        Alter.Table("vdisk_versions")
            .AddColumn("content_hash").AsString(64).Nullable()
            .AddColumn("content_length").AsInt64().Nullable()
            .AddColumn("hashed_at").AsCustom(UtcTimestamp).Nullable()
            .AddColumn("backing_file").AsString(1024).Nullable();

        Create.Table("version_replicas")
            .WithColumn("version_id").AsInt64().NotNullable().PrimaryKey("pk_version_replicas")
                .ForeignKey("fk_version_replicas_version", "vdisk_versions", "id").OnDelete(Rule.Cascade)
            .WithColumn("server_id").AsInt64().NotNullable().PrimaryKey("pk_version_replicas")
                .ForeignKey("fk_version_replicas_server", "servers", "id").OnDelete(Rule.Cascade)
            .WithColumn("state").AsString(16).NotNullable()
            .WithColumn("hash_seen").AsString(64).Nullable()
            .WithColumn("checked_at").AsCustom(UtcTimestamp).NotNullable()
            .WithColumn("stamp").AsString(128).Nullable()
            .WithColumn("message").AsString(512).Nullable();
        Create.Index("ix_version_replicas_server").OnTable("version_replicas").OnColumn("server_id");
    }

    public override void Down()
    {
        Delete.Table("version_replicas");
        Delete.Column("content_hash").Column("content_length").Column("hashed_at").Column("backing_file").FromTable("vdisk_versions");
        Delete.Table("site_settings");
    }
}
