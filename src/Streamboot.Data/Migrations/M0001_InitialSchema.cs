using System.Data;
using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// The site model of issue 2. One migration text for both databases:
/// FluentMigrator writes the SQL for SQLite and PostgreSQL. The indexes it
/// cannot express (case-insensitive and partial unique indexes) are plain SQL
/// that both databases accept as written.
/// </summary>
[Migration(1, "Devices, collections, vDisks, versions, assignments, servers, sessions, audit log")]
public sealed class M0001_InitialSchema : Migration
{
    /// <summary>
    /// PostgreSQL's timestamptz. FluentMigrator has no DateTimeOffset type for
    /// SQLite, but SQLite accepts any declared type name, so one spelling
    /// serves both (EF Core stores UTC text there).
    /// </summary>
    private const string UtcTimestamp = "timestamptz";

    public override void Up()
    {
        Create.Table("vdisks")
            .WithColumn("id").AsInt64().PrimaryKey("pk_vdisks").Identity()
            .WithColumn("name").AsString(64).NotNullable()
            .WithColumn("description").AsString(1024).Nullable()
            .WithColumn("store_path").AsString(4096).NotNullable()
            .WithColumn("size_bytes").AsInt64().NotNullable()
            .WithColumn("format").AsString(16).NotNullable()
            .WithColumn("access_mode").AsString(16).NotNullable()
            .WithColumn("write_cache_mode").AsString(16).NotNullable()
            .WithColumn("created_at").AsCustom(UtcTimestamp).NotNullable();
        // Names are unique regardless of case: they become export and file names.
        Execute.Sql("CREATE UNIQUE INDEX ux_vdisks_name ON vdisks (lower(name))");

        Create.Table("vdisk_versions")
            .WithColumn("id").AsInt64().PrimaryKey("pk_vdisk_versions").Identity()
            .WithColumn("vdisk_id").AsInt64().NotNullable()
                .ForeignKey("fk_vdisk_versions_vdisk", "vdisks", "id").OnDelete(Rule.Cascade)
            .WithColumn("number").AsInt32().NotNullable()
            .WithColumn("file_name").AsString(255).NotNullable()
            .WithColumn("format").AsString(16).NotNullable()
            .WithColumn("stage").AsString(16).NotNullable()
            .WithColumn("description").AsString(1024).Nullable()
            .WithColumn("created_at").AsCustom(UtcTimestamp).NotNullable();
        Create.Index("ux_vdisk_versions_number").OnTable("vdisk_versions")
            .OnColumn("vdisk_id").Ascending().OnColumn("number").Ascending().WithOptions().Unique();

        Create.Table("collections")
            .WithColumn("id").AsInt64().PrimaryKey("pk_collections").Identity()
            .WithColumn("name").AsString(64).NotNullable()
            .WithColumn("description").AsString(1024).Nullable()
            .WithColumn("naming_pattern").AsString(64).NotNullable()
            .WithColumn("default_vdisk_id").AsInt64().Nullable()
                .ForeignKey("fk_collections_default_vdisk", "vdisks", "id").OnDelete(Rule.SetNull)
            .WithColumn("unknown_device_policy").AsString(16).NotNullable()
            .WithColumn("created_at").AsCustom(UtcTimestamp).NotNullable();
        Execute.Sql("CREATE UNIQUE INDEX ux_collections_name ON collections (lower(name))");

        Create.Table("devices")
            .WithColumn("id").AsInt64().PrimaryKey("pk_devices").Identity()
            .WithColumn("mac").AsString(17).NotNullable().Unique("ux_devices_mac")
            .WithColumn("name").AsString(63).NotNullable()
            .WithColumn("machine_id").AsGuid().NotNullable().Unique("ux_devices_machine_id")
            .WithColumn("collection_id").AsInt64().NotNullable()
                .ForeignKey("fk_devices_collection", "collections", "id")
            .WithColumn("description").AsString(1024).Nullable()
            .WithColumn("enabled").AsBoolean().NotNullable()
            .WithColumn("type").AsString(16).NotNullable()
            .WithColumn("write_cache_mode").AsString(16).Nullable()
            .WithColumn("persistent_write_cache").AsBoolean().NotNullable()
            .WithColumn("created_at").AsCustom(UtcTimestamp).NotNullable()
            .WithColumn("updated_at").AsCustom(UtcTimestamp).NotNullable();
        // Computer names are host names: DNS compares them without case.
        Execute.Sql("CREATE UNIQUE INDEX ux_devices_name ON devices (lower(name))");
        Create.Index("ix_devices_collection").OnTable("devices").OnColumn("collection_id");

        Create.Table("assignments")
            .WithColumn("device_id").AsInt64().NotNullable().PrimaryKey("pk_assignments")
                .ForeignKey("fk_assignments_device", "devices", "id").OnDelete(Rule.Cascade)
            .WithColumn("vdisk_id").AsInt64().NotNullable().PrimaryKey("pk_assignments")
                .ForeignKey("fk_assignments_vdisk", "vdisks", "id").OnDelete(Rule.Cascade)
            .WithColumn("is_default").AsBoolean().NotNullable()
            .WithColumn("position").AsInt32().NotNullable()
            .WithColumn("created_at").AsCustom(UtcTimestamp).NotNullable();
        // One default vDisk per device, even when two admins race.
        Execute.Sql("CREATE UNIQUE INDEX ux_assignments_default ON assignments (device_id) WHERE is_default");
        Create.Index("ix_assignments_vdisk").OnTable("assignments").OnColumn("vdisk_id");

        Create.Table("servers")
            .WithColumn("id").AsInt64().PrimaryKey("pk_servers").Identity()
            .WithColumn("name").AsString(255).NotNullable()
            .WithColumn("address").AsString(255).Nullable()
            .WithColumn("http_port").AsInt32().NotNullable()
            .WithColumn("enabled").AsBoolean().NotNullable()
            .WithColumn("started_at").AsCustom(UtcTimestamp).NotNullable()
            .WithColumn("last_heartbeat_at").AsCustom(UtcTimestamp).NotNullable()
            .WithColumn("version").AsString(64).Nullable();
        Execute.Sql("CREATE UNIQUE INDEX ux_servers_name ON servers (lower(name))");

        Create.Table("sessions")
            .WithColumn("id").AsInt64().PrimaryKey("pk_sessions").Identity()
            .WithColumn("device_id").AsInt64().Nullable()
                .ForeignKey("fk_sessions_device", "devices", "id").OnDelete(Rule.SetNull)
            .WithColumn("vdisk_id").AsInt64().NotNullable()
                .ForeignKey("fk_sessions_vdisk", "vdisks", "id").OnDelete(Rule.Cascade)
            .WithColumn("version_number").AsInt32().NotNullable()
            .WithColumn("server_id").AsInt64().Nullable()
                .ForeignKey("fk_sessions_server", "servers", "id").OnDelete(Rule.SetNull)
            .WithColumn("protocol").AsString(16).NotNullable()
            .WithColumn("remote_address").AsString(64).Nullable()
            .WithColumn("write_cache_mode").AsString(16).NotNullable()
            .WithColumn("started_at").AsCustom(UtcTimestamp).NotNullable()
            .WithColumn("last_activity_at").AsCustom(UtcTimestamp).NotNullable()
            .WithColumn("ended_at").AsCustom(UtcTimestamp).Nullable()
            .WithColumn("bytes_read").AsInt64().NotNullable()
            .WithColumn("bytes_written").AsInt64().NotNullable()
            .WithColumn("write_cache_bytes").AsInt64().NotNullable();
        // Never two live sessions for one identity (DESIGN.md step 3).
        Execute.Sql("CREATE UNIQUE INDEX ux_sessions_live_device ON sessions (device_id) WHERE ended_at IS NULL AND device_id IS NOT NULL");
        Create.Index("ix_sessions_vdisk").OnTable("sessions").OnColumn("vdisk_id");

        Create.Table("audit_log")
            .WithColumn("id").AsInt64().PrimaryKey("pk_audit_log").Identity()
            .WithColumn("at").AsCustom(UtcTimestamp).NotNullable()
            .WithColumn("actor").AsString(255).NotNullable()
            .WithColumn("action").AsString(64).NotNullable()
            .WithColumn("target").AsString(255).NotNullable()
            .WithColumn("details").AsString(int.MaxValue).Nullable();
        Create.Index("ix_audit_log_at").OnTable("audit_log").OnColumn("at");

        // Every device belongs to a collection; new sites start with one that
        // refuses unknown machines until an admin decides otherwise.
        Insert.IntoTable("collections").Row(new Dictionary<string, object>
        {
            ["name"] = "default",
            ["description"] = "Devices added without a collection",
            ["naming_pattern"] = "PC-###",
            ["unknown_device_policy"] = "refuse",
            ["created_at"] = RawSql.Insert("CURRENT_TIMESTAMP"),
        });
    }

    public override void Down()
    {
        Delete.Table("audit_log");
        Delete.Table("sessions");
        Delete.Table("servers");
        Delete.Table("assignments");
        Delete.Table("devices");
        Delete.Table("collections");
        Delete.Table("vdisk_versions");
        Delete.Table("vdisks");
    }
}
